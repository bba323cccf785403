import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli, spawnCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";

const tempDir = useTempDirs("rc-run-steps");
let binary = "";
beforeAll(async () => {
  binary = await ensureRunnerBinary();
}, 300_000);

/** A job file in a fresh directory, with a workspace beside it. */
function job(yaml: string): { file: string; ws: string; dir: string } {
  const dir = tempDir();
  writeFileSync(join(dir, "job.yaml"), yaml);
  return { file: join(dir, "job.yaml"), ws: join(dir, "ws"), dir };
}

const stepsJson = (ws: string) => JSON.parse(readFileSync(join(ws, "steps.json"), "utf8"));

describe("run-job with steps", () => {
  test("steps run in the job directory, prefixed, with a summary, steps.json and the failed step's exit code", async () => {
    const { file, ws } = job(`
name: stepped
env: { GREETING: hi }
steps:
  - { name: prepare, run: "mkdir -p out && echo $GREETING > out/greeting" }
  - { name: read, run: "cat greeting", working_dir: out }
  - { name: broken, run: "echo bad >&2; exit 7" }
  - { name: never, run: "echo never" }
  - { name: report, if: "failure() && steps.broken.outcome == 'failure'", run: "echo reporting" }
`);
    const r = await runCli(["run-job", file, "--workspace", ws]);
    expect(r.code).toBe(7);
    expect(r.stdout).toContain("[read] hi\n");
    expect(r.stderr).toContain("[broken] bad\n");
    expect(r.stdout).toContain("[report] reporting\n");
    expect(r.stdout).not.toContain("never\n[");
    expect(r.stdout).toMatch(/STEP\s+STATUS\s+DURATION\s+EXIT\nprepare\s+success/);
    expect(stepsJson(ws).steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ["prepare", "success"],
      ["read", "success"],
      ["broken", "failure"],
      ["never", "skipped"],
      ["report", "success"],
    ]);
  });

  test("bad steps are refused before anything runs, every problem named", async () => {
    const { file, ws } = job(`
steps:
  - { name: a, run: "touch ran" }
  - { name: b, run: "true", depends_on: [zz], colour: red }
  - { name: c, run: "true", if: "env.X = 'y'" }
`);
    const r = await runCli(["run-job", file, "--workspace", ws]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("steps[1].colour");
    const again = job(`
steps:
  - { name: a, run: "touch ran" }
  - { name: b, run: "true", depends_on: [zz] }
  - { name: c, run: "true", if: "env.X = 'y'" }
`);
    const r2 = await runCli(["run-job", again.file, "--workspace", again.ws]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('steps[1].depends_on: "zz" is not an earlier step');
    expect(r2.stderr).toContain(`steps[2].if: unexpected character "=" at column 7`);
    const validate = await runCli(["validate", "--workspace", again.ws, "--job-file", again.file]);
    expect(validate.stdout + validate.stderr).toContain("steps[1].depends_on");
  });

  test("a working_dir outside /job fails its step", async () => {
    const { file, ws } = job(`
steps:
  - { name: escape, run: "touch pwned", working_dir: ../../../../tmp }
`);
    const r = await runCli(["run-job", file, "--workspace", ws]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("steps.escape.working_dir");
  });

  test("the job's timeout ends the steps with 124", async () => {
    const { file, ws } = job(`
timeout: 1
steps:
  - { name: slow, run: "sleep 30" }
  - { name: after, run: "echo after" }
`);
    const r = await runCli(["run-job", file, "--workspace", ws]);
    expect(r.code).toBe(124);
    expect(r.stderr).toContain("timed out after 1 s");
    // The job's end cancels the step that was running and every step after it.
    expect(stepsJson(ws).steps.map((s: { status: string }) => s.status)).toEqual(["cancelled", "cancelled"]);
  });

  test("SIGTERM stops the running step, cancels the rest, runs cleanup hooks, exits 143", async () => {
    const { file, ws, dir } = job(`
steps:
  - { name: slow, run: "echo started; sleep 30" }
  - { name: later, if: "always()", run: "echo later" }
`);
    writeFileSync(join(dir, "plugin.ts"), `export const name = "janitor";\nexport function cleanup(ctx) { ctx.log("cleaned up"); }\n`);
    const proc = spawnCli(binary, ["run-job", file, "--workspace", ws, "--plugin", join(dir, "plugin.ts")]);
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes("[slow] started")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    proc.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(await proc.exited).toBe(143);
    expect(stepsJson(ws).steps.map((s: { status: string }) => s.status)).toEqual(["cancelled", "cancelled"]);
    expect(out + (await new Response(proc.stderr).text())).toContain("[plugin janitor] cleaned up");
  });
});

describe("run-job with plugins", () => {
  test("phases in order; CI checkout plugins join after source prep; the source's plugins never load when /job/ci exists", async () => {
    const { file, ws, dir } = job("");
    const ci = join(dir, "ci-repo");
    const src = join(dir, "src-repo");
    const log = join(dir, "phases.log");
    const recorder = (name: string) =>
      `import { appendFileSync } from "node:fs";\nexport const name = "${name}";\n` +
      ["pre_validation", "post_validation", "pre_source_prep", "post_source_prep", "pre_execution", "post_execution", "on_error", "cleanup"]
        .map((phase) => `export function ${phase}(ctx) { appendFileSync(${JSON.stringify(log)}, "${name}:${phase}:" + (ctx.results.exitCode ?? "") + "\\n"); }`)
        .join("\n");
    mkdirSync(join(ci, ".reactorcide", "plugins"), { recursive: true });
    writeFileSync(join(ci, ".reactorcide", "plugins", "ci.ts"), recorder("ci"));
    mkdirSync(join(src, ".reactorcide", "plugins"), { recursive: true });
    writeFileSync(join(src, ".reactorcide", "plugins", "evil.ts"), recorder("evil"));
    writeFileSync(join(dir, "extra.ts"), recorder("extra"));
    writeFileSync(
      file,
      `command: "exit 3"\nci_source: { type: copy, url: ${ci} }\nsource: { type: copy, url: ${src} }\n`,
    );
    const r = await runCli(["run-job", file, "--workspace", ws, "--plugin", join(dir, "extra.ts")]);
    expect(r.code).toBe(3);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      "extra:pre_validation:",
      "extra:post_validation:",
      "extra:pre_source_prep:",
      "ci:post_source_prep:",
      "extra:post_source_prep:",
      "ci:pre_execution:",
      "extra:pre_execution:",
      "ci:post_execution:3",
      "extra:post_execution:3",
      "ci:cleanup:3",
      "extra:cleanup:3",
    ]);
  });

  test("a job refused by validation runs on_error, then cleanup", async () => {
    const { file, ws, dir } = job("timeout: -5\ncommand: 'true'\n");
    writeFileSync(join(dir, "p.ts"), `export const name = "p";\nexport function on_error(ctx) { ctx.log("on_error: " + ctx.results.error.message); }\nexport function cleanup(ctx) { ctx.log("cleanup"); }\n`);
    const r = await runCli(["run-job", file, "--workspace", ws, "--plugin", join(dir, "p.ts")]);
    expect(r.code).toBe(2);
    const all = r.stdout + r.stderr;
    expect(all).toContain("[plugin p] on_error: the job was not run (exit 2)");
    expect(all.indexOf("[plugin p] cleanup")).toBeGreaterThan(all.indexOf("on_error"));
  });
});

describe("run-job with steps in containers", () => {
  test("each step runs in a hardened container on the same /job workspace, with its own env", async () => {
    const image = await ensureRunnerImage();
    const { file, ws } = job(`
steps:
  - { name: write, run: "echo shared > /job/artifacts-note; id -u", env: { STEP_ONLY: one } }
  - { name: read, run: 'cat /job/artifacts-note; echo "[$STEP_ONLY]"; pwd' }
`);
    const r = await runCli(["run-job", file, "--workspace", ws, "--image", image]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[write] 1001\n");
    expect(r.stdout).toContain("[read] shared\n");
    expect(r.stdout).toContain("[read] []\n");
    expect(r.stdout).toContain("[read] /job/src\n");
  }, 600_000);
});
