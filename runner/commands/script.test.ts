import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { useTempDirs } from "../testing/temp-dirs.ts";
import { ensureRunnerBinary } from "../testing/binary.ts";

const MAIN = join(import.meta.dir, "..", "main.ts");
const workspace = useTempDirs("rc-script");

let binary = "";
beforeAll(async () => {
  binary = await ensureRunnerBinary();
}, 300_000);

const SCRIPT = `
import { runStep, parallel, runSteps, triggerJob, onPhase, gitInfo } from "reactorcide";
onPhase("cleanup", (ctx) => ctx.log("script cleanup"));
const first = await runStep("hello", "echo hi from a step");
const [a, b] = await parallel({ name: "a", run: "echo A" }, { name: "b", run: "echo B" });
const report = await runSteps([{ name: "x", run: "exit 4", continue_on_error: true }, { name: "y", run: "echo y" }]);
console.log("statuses", first.status, a?.status, b?.status, report.success, "args", process.argv.slice(2).join(","));
if (typeof gitInfo !== "function") throw new Error("gitInfo missing");
await triggerJob("deploy", { env: { FROM: "script" } });
process.exitCode = 5;
`;

function setup(): { ws: string; script: string } {
  const ws = workspace();
  mkdirSync(join(ws, "ci", ".reactorcide", "plugins"), { recursive: true });
  writeFileSync(
    join(ws, "ci", ".reactorcide", "plugins", "audit.ts"),
    `import { definePlugin } from "reactorcide";
     export default definePlugin({ name: "audit", priority: 1, hooks: {
       pre_execution: (ctx) => ctx.log("before the script"),
       post_execution: (ctx) => ctx.log("after, exit " + ctx.results.exitCode),
       cleanup: (ctx) => ctx.log("plugin cleanup") } });`,
  );
  const script = join(ws, "job.ts");
  writeFileSync(script, SCRIPT);
  return { ws, script };
}

async function runScript(command: string[], ws: string, args: string[]) {
  const proc = Bun.spawn([...command, "script", ...args], {
    cwd: ws,
    env: { PATH: process.env.PATH ?? "", HOME: "/root", REACTORCIDE_WORKSPACE: ws },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { out, err, code };
}

describe.each([
  ["from source", () => [process.execPath, MAIN]],
  ["compiled", () => [binary]],
])("script command (%s)", (_label, command) => {
  test('a script imports "reactorcide": steps, parallel groups, triggers, hooks and CI plugins', async () => {
    const { ws, script } = setup();
    const r = await runScript(command(), ws, [script, "one", "two"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(5);
    const lines = r.out.split("\n");
    expect(lines).toContain("[hello] hi from a step");
    expect(lines).toContain("[a] A");
    expect(lines).toContain("statuses success success success true args one,two");
    expect(lines.findIndex((l) => l === "[plugin audit] before the script")).toBeLessThan(lines.indexOf("[hello] hi from a step"));
    expect(lines).toContain("[plugin audit] after, exit 5");
    expect(lines).toContain("[plugin audit] plugin cleanup");
    expect(lines).toContain("[plugin script-1] script cleanup");
    expect(lines.some((l) => l.startsWith("::reactorcide::trigger::"))).toBe(true);
    expect(JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8")).jobs[0]).toMatchObject({ job_name: "deploy", env: { FROM: "script" } });
    expect(JSON.parse(readFileSync(join(ws, "steps.json"), "utf8")).steps.map((s: { name: string }) => s.name)).toEqual(["x", "y"]);
  });

  test("SIGTERM stops the running step, runs cleanup hooks and exits 143", async () => {
    const { ws } = setup();
    const script = join(ws, "slow.ts");
    writeFileSync(script, `import { runStep } from "reactorcide";\nawait runStep("slow", "echo started; sleep 60");\n`);
    const proc = Bun.spawn([...command(), "script", script], {
      cwd: ws,
      env: { PATH: process.env.PATH ?? "", HOME: "/root", REACTORCIDE_WORKSPACE: ws },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stdout.getReader();
    let seen = "";
    while (!seen.includes("[slow] started")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    proc.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(await proc.exited).toBe(143);
    expect(seen).toContain("[plugin audit] plugin cleanup");
  });

  test("a missing script is a clear error", async () => {
    const ws = workspace();
    const r = await runScript(command(), ws, [join(ws, "nope.ts")]);
    expect(r.code).toBe(2);
    expect(r.err + r.out).toContain("nope.ts not found");
  });
});
