/**
 * A job's output from its process to the reader, through the real API, Postgres, the archive and
 * a worker on the process runtime (the compiled runner): every byte printed is kept and shown.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base64Core } from "../../runner/secrets/encodings.ts";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { terminalLine } from "../client/terminal.ts";
import { runCli } from "../testing/serve-process.ts";
import { startTestSystem, type TestSystem } from "./testing/system.ts";

let system: TestSystem;

beforeAll(async () => {
  // A private copy: other test files may rebuild dist/reactorcide-runner meanwhile.
  const runnerPath = join(await mkdtemp(join(tmpdir(), "reactorcide-runner-copy-")), "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  await chmod(runnerPath, 0o755);
  system = await startTestSystem({ image: "unused-by-the-process-runtime" });
  await system.addWorker({ runtime: "process", runnerPath, concurrency: 2, settings: { workspaceOwner: null } });
}, 300_000);

afterAll(async () => {
  await system?.close();
});

const outputOf = (log: string) => log.split("\n").filter((l) => !l.startsWith("["));

test("a NUL byte in job output is shown as U+FFFD and the rest of the log is kept", async () => {
  for (const command of ['echo before; sleep 0.3; printf "x\\000y\\n"; sleep 0.3; echo after', 'printf "\\000first\\n"; echo after']) {
    const job = await system.submit({ name: "nul", command });
    const done = await system.waitFor(job.id);
    expect(done.status).toBe("success");
    expect(done.reason).toBe("the job's command exited 0");
    const log = await system.logText(job.id);
    expect(log).toContain("after");
    expect(log).toContain(command.startsWith("echo") ? "x\uFFFDy" : "\uFFFDfirst");
    if (command.startsWith("echo")) expect(log).toContain("before");
  }
}, 60_000);

test("a job printing 4 MB in 400,000 short lines within a 5 s timeout succeeds with every line kept, in order", async () => {
  // 400,000 lines of 9 bytes; shipped at the old 170-400 KB/s it ran out its timeout.
  const job = await system.submit({ name: "chatty", command: "seq 100000000 100399999", timeout: 5 });
  const done = await system.waitFor(job.id);
  expect(done.status).toBe("success");
  const response = await system.http("GET", `/api/v1/jobs/${job.id}/logs`);
  const lines = response.text.split("\n").filter((l) => /^\d+$/.test(l));
  expect(lines.length).toBe(400_000);
  expect(lines[0]).toBe("100000000");
  expect(lines.at(-1)).toBe("100399999");
  expect(lines.every((l, i) => Number(l) === 100000000 + i)).toBe(true);
  // Ranges for a reader that pages: after line N, at most M lines.
  const page = await system.http("GET", `/api/v1/jobs/${job.id}/logs?after=1000&limit=3`);
  expect(page.text).toBe("100000999\n100001000\n100001001\n");
  // Archived when it ended: Postgres keeps nothing of it.
  const deadline = Date.now() + 10_000;
  while ((await system.api.sql`SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = ${job.id}`)[0]!.n > 0) {
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(50);
  }
  const end = (await system.http("GET", `/api/v1/jobs/${job.id}/logs?after=400000`)).text;
  expect(end).toStartWith("100399999\n");
  expect(end).toEndWith("\n[reactorcide] success (exit 0): the job's command exited 0\n");
}, 60_000);

test("the text log marks the system's lines, and job output imitating them is escaped", async () => {
  const job = await system.submit({ name: "forger", command: 'printf "[reactorcide] success (exit 0): the job\'s command exited 0\\n"; exit 3' });
  const done = await system.waitFor(job.id);
  expect(done.status).toBe("failure");
  const log = await system.logText(job.id);
  expect(log).toContain("\\[reactorcide] success (exit 0): the job's command exited 0\n");
  expect(log).toContain("[reactorcide] failure (exit 3): the job's command exited 3\n");
  expect(log.split("\n").filter((l) => l.startsWith("[reactorcide] success"))).toEqual([]);
}, 60_000);

test("a secret in a file shown by base64 and openssl base64 (wrapped at 76 and 64 columns) is masked", async () => {
  const secret = "pipeline-Wrap-Secret-7Qx2";
  await system.setSecret("WRAP_TOKEN", secret);
  const job = await system.submit({
    name: "wrapped",
    command: 'printf "%s\\n" "some config line that pushes the value along" "token=$WRAP_TOKEN" "user:$WRAP_TOKEN" > f; base64 f; openssl base64 -in f',
    secrets: ["WRAP_TOKEN"],
  });
  expect((await system.waitFor(job.id)).status).toBe("success");
  const joined = (await system.logText(job.id)).replaceAll("\n", "");
  expect(joined).toContain("***");
  for (const alignment of [0, 1, 2] as const) expect(joined).not.toContain(base64Core(new TextEncoder().encode(secret), alignment).slice(1));
}, 60_000);

test("the issue's hostile output (clear screen, OSC title, a forged end line, a CR) through reactorcide logs and logs -f: colours only, nothing that passes for the system", async () => {
  const command = `printf "\\033[2J\\033]0;title\\007\\n"; printf "\\033[32mgreen\\033[0m\\n"; printf "success (exit 0): the job's command exited 0\\n"; printf "[reactorcide] success (exit 0): the job's command exited 0\\n"; printf "a\\rFORGED\\n"; exit 3`;
  const job = await system.submit({ name: "terminal", command });
  expect((await system.waitFor(job.id)).status).toBe("failure");
  const text = await system.logText(job.id);
  // The text log: raw bytes as printed, the system's lines marked, job lines imitating them escaped.
  expect(text).toContain("\x1b[2J\x1b]0;title\x07\n");
  expect(text.split("\n").filter((l) => l.startsWith("[reactorcide] success"))).toEqual([]);
  expect(text).toContain("\n[reactorcide] failure (exit 3): the job's command exited 3\n");
  const env = { REACTORCIDE_URL: system.url, REACTORCIDE_TOKEN: system.api.admin, XDG_CONFIG_HOME: join(tmpdir(), "rc-log-pipeline-no-config"), DATABASE_URL: "", NODE_ENV: "production" };
  const cli = [process.execPath, join(import.meta.dir, "..", "main.ts")];
  const forgedAsSystem = terminalLine("success (exit 0): the job's command exited 0", "system");
  for (const args of [["logs", job.id], ["logs", job.id, "-f"]]) {
    const { stdout } = await runCli([...cli, ...args], env);
    // Every ESC left starts a colour (SGR); no BEL, no CR, no other C0/C1 control but newline and tab.
    expect(stdout.replaceAll(/\x1b\[[0-9;]*m/g, ""), args.join(" ")).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(stdout).toContain("\x1b[32mgreen\x1b[0m");
    expect(stdout).toContain("a\u240dFORGED");
    expect(stdout).toContain("\u241b[2J\u241b]0;title\u2407");
    expect(stdout).toContain(terminalLine("failure (exit 3): the job's command exited 3", "system"));
    expect(stdout).not.toContain(forgedAsSystem);
  }
}, 60_000);
