/**
 * A job's output from its process to the reader, through the real API, Postgres, the archive and
 * a worker on the process runtime (the compiled runner): every byte printed is kept and shown.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
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
