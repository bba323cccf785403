import { beforeAll, expect, test } from "bun:test";
import { chmod, copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Masker } from "../../runner/secrets/masker.ts";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { JobRun } from "./job-run.ts";
import { ProcessRuntime } from "./runtimes/process.ts";
import { hostWorkspaces } from "./runtimes/select.ts";
import { defaultSettings } from "./settings.ts";
import { MemoryCoordinator } from "./testing/memory-coordinator.ts";

let runnerPath = "";
beforeAll(async () => {
  // A private copy: other test files may rebuild dist/reactorcide-runner meanwhile.
  runnerPath = join(await mkdtemp(join(tmpdir(), "reactorcide-runner-copy-")), "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  await chmod(runnerPath, 0o755);
}, 300_000);

test("process runtime: the compiled runner runs the job in its workspace with env and secrets, masked", async () => {
  const coordinator = new MemoryCoordinator();
  const settings = defaultSettings({
    workerId: "w-process",
    workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-proc-")),
    workspaceOwner: null,
    cancelPollMs: 100,
  });
  const job = coordinator.add({ command: 'echo "in $(pwd) with $NAME and $TOKEN"; exit 3', env: { NAME: "env-value" } }, { TOKEN: "sekrit-4412-value" });
  const outcome = await new JobRun(job.id, { coordinator, runtime: new ProcessRuntime({ runnerPath, quiet: true, workspaces: hostWorkspaces(settings) }), settings, newMasker: () => new Masker() }).run();
  expect(outcome.kind).toBe("finished");
  const text = coordinator.text(job.id);
  expect(text).toContain(`in ${join(settings.workspaceRoot, job.id, "src")} with env-value and ***`);
  expect(text).not.toContain("sekrit-4412-value");
  expect(coordinator.jobs.get(job.id)!.status).toBe("failure");
}, 60_000);

test("log lines the coordinator refuses make the job error, never success", async () => {
  class RefusingCoordinator extends MemoryCoordinator {
    override async appendLogs(): Promise<void> {
      throw Object.assign(new Error("shipping log lines: invalid byte sequence"), { status: 400 });
    }
  }
  const coordinator = new RefusingCoordinator();
  const settings = defaultSettings({ workerId: "w-process", workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-proc-")), workspaceOwner: null, cancelPollMs: 100 });
  const job = coordinator.add({ command: "echo hello" });
  const outcome = await new JobRun(job.id, { coordinator, runtime: new ProcessRuntime({ runnerPath, quiet: true, workspaces: hostWorkspaces(settings) }), settings, newMasker: () => new Masker() }).run();
  expect(outcome.kind === "finished" && outcome.report.status).toBe("error");
  expect(coordinator.jobs.get(job.id)!.status).toBe("error");
  expect(coordinator.finishes[0]!.report.reason).toContain("log lines could not be shipped");
}, 60_000);
