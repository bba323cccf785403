import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTriggerLine, type TriggerJob } from "../protocol/trigger.ts";
import { runCommandInPlace } from "../steps/local.ts";
import { loadWorkflow } from "./load.ts";
import { runWorkflow, type LaunchJob, type WorkflowReport } from "./schedule.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs each job's command for real with sh, in a shared scratch dir, collecting trigger lines. */
function shellLauncher(cwd: string): LaunchJob {
  return async (job, io) => {
    const triggers: TriggerJob[] = [];
    const { exitCode } = await runCommandInPlace({
      step: job.name,
      command: job.spec.command ?? "true",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", JOB: job.name, ...job.spec.env },
      cwd,
      signal: io.signal,
      onLine: (stream, line) => {
        const payload = parseTriggerLine(line);
        if (payload) triggers.push(...payload.jobs);
        io.onLine(stream, line);
      },
    });
    return { exitCode, triggers };
  };
}

async function run(yaml: string, options: { only?: string; maxParallel?: number; env?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "rc-sched-"));
  dirs.push(dir);
  writeFileSync(join(dir, "wf.yaml"), yaml);
  const work = join(dir, "work");
  mkdirSync(work);
  const workflow = loadWorkflow(join(dir, "wf.yaml"), { root: dir });
  const lines: string[] = [];
  const report = await runWorkflow(workflow, {
    launch: shellLauncher(work),
    maxParallel: options.maxParallel ?? 4,
    eventEnv: options.env ?? { REACTORCIDE_BRANCH: "main" },
    output: (_stream, text) => lines.push(text),
    only: options.only,
  });
  return { report, lines, work };
}
const statuses = (report: WorkflowReport) => Object.fromEntries(report.jobs.map((j) => [j.name, j.status]));
const wait = (file: string) => `for i in $(seq 1 200); do [ -f ${file} ] && exit 0; sleep 0.05; done; exit 1`;

describe("workflow scheduling", () => {
  test("independent jobs run in parallel, then dependents, for_each expanded, deploy only on main", async () => {
    const yaml = `
jobs:
  test: { command: "touch test.started; ${wait("lint.started")}" }
  lint: { command: "touch lint.started; ${wait("test.started")}" }
  build: { needs: [test, lint], for_each: [a, b], command: "echo built-$ITEM > built-$ITEM" }
  deploy: { needs: [build], if: "env.REACTORCIDE_BRANCH == 'main'", command: "cat built-a built-b" }
`;
    const { report, lines } = await run(yaml);
    expect(statuses(report)).toEqual({ test: "success", lint: "success", "build-a": "success", "build-b": "success", deploy: "success" });
    expect(lines).toContain("[deploy] built-a\n");
    expect(report.success).toBe(true);
    const other = await run(yaml, { env: { REACTORCIDE_BRANCH: "feature/x" } });
    expect(other.report.jobs.find((j) => j.name === "deploy")).toMatchObject({ status: "skipped", reason: "if: env.REACTORCIDE_BRANCH == 'main'" });
    expect(other.report.success).toBe(true);
  });

  test("max-parallel 1 runs one job at a time", async () => {
    const { report } = await run(
      `
jobs:
  a: { command: "mkdir lock && sleep 0.2 && rmdir lock" }
  b: { command: "mkdir lock && sleep 0.2 && rmdir lock" }
  c: { command: "mkdir lock && sleep 0.2 && rmdir lock" }
`,
      { maxParallel: 1 },
    );
    expect(statuses(report)).toEqual({ a: "success", b: "success", c: "success" });
  });

  test("conditions: all_success skips after a failure, any_failed and always run, skips propagate", async () => {
    const { report } = await run(`
jobs:
  test: { command: "exit 1" }
  build: { needs: [test], command: "true" }
  publish: { needs: [build], command: "true" }
  notify-failure: { needs: [test], condition: any_failed, command: "true" }
  notify-success: { needs: [test], condition: any_failed, command: "true", if: "env.NEVER == 'x'" }
  report: { needs: [build], condition: always, command: "true" }
`);
    expect(statuses(report)).toEqual({
      test: "failure",
      build: "skipped",
      publish: "skipped",
      "notify-failure": "success",
      "notify-success": "skipped",
      report: "success",
    });
    expect(report.jobs.find((j) => j.name === "build")?.reason).toBe("condition all_success: test failure");
    expect(report.success).toBe(false);
  });

  test("jobs triggered at run time also run, by workflow name or with their own command", async () => {
    const line = (jobs: unknown[]) =>
      `::reactorcide::trigger::${JSON.stringify({ type: "trigger_job", operation_id: crypto.randomUUID(), jobs })}`;
    const { report, lines } = await run(`
jobs:
  first:
    command: |
      echo '${line([{ job_name: "on-demand", env: { WHO: "first" } }, { job_name: "adhoc", job_command: "echo adhoc ran" }])}'
  on-demand: { needs: [first], condition: always, command: "echo on-demand for $WHO" }
`);
    // The three after `first` run in parallel, so they may finish in any order.
    expect(report.jobs.map((j) => [j.name, j.status, j.triggeredBy]).sort()).toEqual([
      ["adhoc", "success", "first"],
      ["first", "success", undefined],
      ["on-demand", "success", undefined],
      ["on-demand.2", "success", "first"],
    ]);
    expect(lines).toContain("[on-demand.2] on-demand for first\n");
    expect(lines).toContain("[adhoc] adhoc ran\n");
  });

  test("a trigger for an unknown job without a command is an error", async () => {
    const trigger = JSON.stringify({ type: "trigger_job", operation_id: crypto.randomUUID(), jobs: [{ job_name: "ghost" }] });
    const { report } = await run(`jobs:\n  a:\n    command: |\n      echo '::reactorcide::trigger::${trigger}'\n`);
    expect(report.jobs[0]).toMatchObject({ status: "error", reason: 'triggered job "ghost" is not in the workflow and has no job_command' });
    expect(report.success).toBe(false);
  });

  test("--job runs one job alone and reports what would run next", async () => {
    const { report } = await run(
      `
jobs:
  test: { command: "exit 1" }
  lint: { command: "true" }
  build: { needs: [test, lint], command: "true" }
`,
      { only: "lint" },
    );
    expect(report.jobs.map((j) => j.name)).toEqual(["lint"]);
    expect(report.next).toEqual([{ name: "build", waitingOn: ["test"] }]);
    await expect(run("jobs:\n  a: { command: x }\n", { only: "zz" })).rejects.toThrow('--job: no job "zz"; jobs: a');
  });
});
