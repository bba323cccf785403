import { beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
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

test("the job's end is reported before its workspace (job.env with its secrets) is removed, and the run ends only once it is gone", async () => {
  const settings = defaultSettings({ workerId: "w-process", workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-proc-")), workspaceOwner: null, cancelPollMs: 100 });
  const seenAtEnd: boolean[] = [];
  class WatchingCoordinator extends MemoryCoordinator {
    override async finish(jobId: string, report: Parameters<MemoryCoordinator["finish"]>[1]) {
      seenAtEnd.push(existsSync(join(settings.workspaceRoot, jobId, "job.env")));
      return super.finish(jobId, report);
    }
  }
  const coordinator = new WatchingCoordinator();
  const job = coordinator.add({ command: "echo done" }, { TOKEN: "sekrit-5521-value" });
  const outcome = await new JobRun(job.id, { coordinator, runtime: new ProcessRuntime({ runnerPath, quiet: true, workspaces: hostWorkspaces(settings) }), settings, newMasker: () => new Masker() }).run();
  expect(outcome.kind === "finished" && outcome.report.status).toBe("success");
  // Reported without waiting for the removal; removed before the slot is free again.
  expect(seenAtEnd).toEqual([true]);
  expect(readdirSync(settings.workspaceRoot)).toEqual([]);
}, 60_000);

test("log lines the coordinator refuses make the job error, never success", async () => {
  class RefusingCoordinator extends MemoryCoordinator {
    override async appendLogChunk(): Promise<void> {
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

test("a job of steps ends with each step's status, exit code and duration from the runner's steps.json; a plain command's own steps.json is not believed", async () => {
  const coordinator = new MemoryCoordinator();
  const settings = defaultSettings({ workerId: "w-process", workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-proc-")), workspaceOwner: null, cancelPollMs: 100 });
  const runtime = new ProcessRuntime({ runnerPath, quiet: true, workspaces: hostWorkspaces(settings) });
  const job = coordinator.add({
    command: "steps",
    steps: [
      { name: "compile", run: "sleep 0.3; echo compiled" },
      { name: "lint", run: "exit 4", continue_on_error: true },
      { name: "unit", run: "echo failing; exit 7" },
      { name: "deploy", run: "echo never" },
    ],
  });
  const outcome = await new JobRun(job.id, { coordinator, runtime, settings, newMasker: () => new Masker() }).run();
  expect(outcome.kind === "finished" && outcome.report).toMatchObject({ status: "failure", exitCode: 7 });
  const steps = coordinator.finishes[0]!.report.stepResults!;
  expect(steps.map((s) => [s.name, s.status, s.exit_code, s.continued_on_error])).toEqual([
    ["compile", "success", 0, false],
    ["lint", "failure", 4, true],
    ["unit", "failure", 7, false],
    ["deploy", "skipped", null, false],
  ]);
  expect(steps[0]!.duration_ms).toBeGreaterThanOrEqual(300);
  expect(steps[0]!.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect(steps[3]).toMatchObject({ started_at: null, reason: "an earlier step failed" });

  // A plain command that writes a report of its own: nothing is recorded for it.
  const forged = JSON.stringify({ success: true, durationMs: 1, steps: [{ name: "fake", status: "success", exitCode: 0, durationMs: 1, startedAt: null, timedOut: false, continuedOnError: false }] });
  const plain = coordinator.add({ command: `echo '${forged}' > ../steps.json` });
  await new JobRun(plain.id, { coordinator, runtime, settings, newMasker: () => new Masker() }).run();
  expect(coordinator.finishes[1]).toMatchObject({ jobId: plain.id, report: { status: "success" } });
  expect(coordinator.finishes[1]!.report.stepResults).toBeUndefined();
}, 60_000);

test("the job's timeout is its own clock: shipping held up 3 s does not make a job that exits at once timed_out", async () => {
  // A coordinator as slow as the (a 50 MB log 'succeeded in 0.4 s' by the runner's clock, yet ran out a timeout).
  class SlowCoordinator extends MemoryCoordinator {
    override async appendLogChunk(jobId: string, chunk: Parameters<MemoryCoordinator["appendLogChunk"]>[1]): Promise<void> {
      await Bun.sleep(3000);
      return super.appendLogChunk(jobId, chunk);
    }
  }
  const coordinator = new SlowCoordinator();
  const settings = defaultSettings({ workerId: "w-process", workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-proc-")), workspaceOwner: null, cancelPollMs: 100 });
  const job = coordinator.add({ command: "echo quick", timeout: 1 });
  const outcome = await new JobRun(job.id, { coordinator, runtime: new ProcessRuntime({ runnerPath, quiet: true, workspaces: hostWorkspaces(settings) }), settings, newMasker: () => new Masker() }).run();
  expect(outcome.kind === "finished" && outcome.report.status).toBe("success");
  expect(coordinator.jobs.get(job.id)!.status).toBe("success");
  expect(coordinator.text(job.id)).toContain("quick");
  // A normal end leaves nothing of the runner in the temp dir (its TMPDIR, rc-job-*, goes with it).
  expect(readdirSync(tmpdir()).filter((name) => name.startsWith("rc-job-"))).toEqual([]);
}, 60_000);
