import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StepSpec } from "../protocol/workflow-spec.ts";
import { runSteps, type StepEngineOptions, type StepsReport } from "./engine.ts";
import { runCommandInPlace } from "./local.ts";
import { StepPlanError } from "./plan.ts";
import { formatStepsSummary, writeStepsReport } from "./summary.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function run(steps: StepSpec[], extra: Partial<StepEngineOptions> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), "rc-steps-"));
  dirs.push(cwd);
  const lines: { stream: string; text: string }[] = [];
  const report = await runSteps(steps, {
    runCommand: (r) => runCommandInPlace(r, 500),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", JOB_VAR: "job" },
    cwd,
    output: (stream, text) => lines.push({ stream, text }),
    ...extra,
  });
  return { report, lines, cwd, text: lines.map((l) => l.text).join("") };
}
/** A killed child whose parent is gone may linger as a zombie until PID 1 reaps it; it is not running. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
const statuses = (report: StepsReport) => Object.fromEntries(report.steps.map((s) => [s.name, s.status]));

describe("step engine", () => {
  test("runs sequentially by default, every line attributed to its step, stderr kept apart", async () => {
    const { report, lines, cwd } = await run([
      { name: "one", run: "echo first > order; echo hello; echo oops >&2" },
      { name: "two", run: "echo second >> order; printf 'no newline'" },
    ]);
    expect(report.success).toBe(true);
    expect(readFileSync(join(cwd, "order"), "utf8")).toBe("first\nsecond\n");
    expect(lines).toContainEqual({ stream: "stdout", text: "[one] hello\n" });
    expect(lines).toContainEqual({ stream: "stderr", text: "[one] oops\n" });
    expect(lines).toContainEqual({ stream: "stdout", text: "[two] no newline\n" });
    expect(lines.every((l) => /^\[(one|two)\] /.test(l.text))).toBe(true);
    expect(report.steps.map((s) => [s.name, s.exitCode])).toEqual([["one", 0], ["two", 0]]);
  });

  test("trigger lines stay at the start of the line so workers find them", async () => {
    const { lines } = await run([{ name: "t", run: "echo '::reactorcide::trigger::{}'; echo after" }]);
    expect(lines).toContainEqual({ stream: "stdout", text: "::reactorcide::trigger::{}\n" });
    expect(lines).toContainEqual({ stream: "stdout", text: "[t] after\n" });
  });

  test("parallel steps run together (each waits for the other's file), then the next step", async () => {
    const wait = (file: string) => `for i in $(seq 1 200); do [ -f ${file} ] && exit 0; sleep 0.05; done; exit 1`;
    const { report } = await run([
      { name: "a", parallel: true, run: `touch a.started; ${wait("b.started")}` },
      { name: "b", parallel: true, run: `touch b.started; ${wait("a.started")}` },
      { name: "after", run: "test -f a.started && test -f b.started" },
    ]);
    expect(statuses(report)).toEqual({ a: "success", b: "success", after: "success" });
  });

  test("a failure stops what follows unless its if says otherwise", async () => {
    const { report, text } = await run([
      { name: "build", run: "exit 3" },
      { name: "test", run: "echo never" },
      { name: "report-failure", if: "failure()", run: "echo reporting" },
      { name: "cleanup", if: "always()", run: "echo cleaning" },
      { name: "on-main", if: "env.JOB_VAR == 'job'", run: "echo no" },
    ]);
    expect(report.success).toBe(false);
    expect(statuses(report)).toEqual({
      build: "failure",
      test: "skipped",
      "report-failure": "success",
      cleanup: "success",
      "on-main": "skipped",
    });
    expect(report.steps[0]?.exitCode).toBe(3);
    expect(text).not.toContain("never");
    expect(text).toContain("[report-failure] reporting");
  });

  test("continue_on_error keeps the job going and the job succeeds", async () => {
    const { report } = await run([
      { name: "flaky", run: "exit 1", continue_on_error: true },
      { name: "next", run: "true" },
      { name: "saw-it", if: "steps.flaky.outcome == 'failure'", run: "true" },
    ]);
    expect(report.success).toBe(true);
    expect(statuses(report)).toEqual({ flaky: "failure", next: "success", "saw-it": "success" });
    expect(report.steps[0]?.continuedOnError).toBe(true);
  });

  test("depends_on: only the named steps gate a step, and their failure skips it", async () => {
    const { report } = await run([
      { name: "lint", parallel: true, run: "exit 1" },
      { name: "unit", parallel: true, run: "true" },
      { name: "needs-unit", depends_on: ["unit"], run: "true" },
      { name: "needs-lint", depends_on: ["lint"], run: "true" },
    ]);
    expect(statuses(report)).toEqual({ lint: "failure", unit: "success", "needs-unit": "success", "needs-lint": "skipped" });
  });

  test("step env, job env, working_dir and conditions on env", async () => {
    const { report, text } = await run([
      { name: "mk", run: "mkdir -p sub/dir" },
      { name: "where", working_dir: "sub/dir", env: { STEP_VAR: "step" }, run: 'echo "$(basename $PWD) $JOB_VAR $STEP_VAR"' },
      { name: "only-dev", if: "env.STAGE == 'dev'", env: { STAGE: "prod" }, run: "echo no" },
      { name: "only-prod", if: "env.STAGE == 'prod' && !(env.JOB_VAR == '')", env: { STAGE: "prod" }, run: "echo yes" },
    ]);
    expect(text).toContain("[where] dir job step\n");
    expect(statuses(report)).toEqual({ mk: "success", where: "success", "only-dev": "skipped", "only-prod": "success" });
  });

  test("a step's timeout stops it and its children", async () => {
    const { report, cwd } = await run([
      { name: "slow", timeout: 1, run: "sh -c 'echo $$ > child.pid; sleep 60' & sleep 60" },
      { name: "after", if: "always()", run: "true" },
    ]);
    const slow = report.steps[0]!;
    expect(slow.status).toBe("failure");
    expect(slow.timedOut).toBe(true);
    expect(slow.reason).toBe("timed out after 1s");
    const childPid = Number(readFileSync(join(cwd, "child.pid"), "utf8"));
    expect(running(childPid)).toBe(false);
    expect(report.steps[1]?.status).toBe("success");
  });

  test("cancelling the job stops the running step and cancels the rest", async () => {
    const controller = new AbortController();
    const { report } = await run(
      [
        { name: "long", run: "touch started; sleep 60" },
        { name: "later", run: "true" },
      ],
      {
        signal: controller.signal,
        onStepStart: () => {
          setTimeout(() => controller.abort(), 200);
        },
      },
    );
    expect(statuses(report)).toEqual({ long: "cancelled", later: "cancelled" });
    expect(report.success).toBe(false);
  });

  test("a working_dir the caller refuses fails that step with the reason", async () => {
    const { report } = await run([{ name: "escape", working_dir: "../../etc", run: "true" }], {
      resolveDir: (dir) => {
        if (dir.includes("..")) throw new Error("must stay inside the job directory");
        return dir;
      },
    });
    expect(report.steps[0]?.status).toBe("failure");
    expect(report.steps[0]?.reason).toBe("working_dir: must stay inside the job directory");
  });

  test("invalid plans report every problem before anything runs", async () => {
    let error: unknown;
    try {
      await run([
        { name: "a", run: "touch ran" },
        { name: "a", run: "true" },
        { name: "b", depends_on: ["c"], run: "true" },
        { name: "c", if: "steps.zzz.outcome == 'success'", run: "true" },
        { name: "d", if: "env.X ==", run: "true" },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StepPlanError);
    expect((error as StepPlanError).problems.map((p) => p.field)).toEqual([
      "steps[1].name",
      "steps[2].depends_on",
      "steps[3].if",
      "steps[4].if",
    ]);
    expect((error as Error).message).toContain('"c" is not an earlier step');
  });

  test("summary table and steps.json", async () => {
    const { report, cwd } = await run([
      { name: "ok", run: "true" },
      { name: "bad", run: "exit 2" },
      { name: "skipped-one", run: "true" },
    ]);
    const table = formatStepsSummary(report);
    expect(table.split("\n")[0]).toMatch(/^STEP\s+STATUS\s+DURATION\s+EXIT$/);
    expect(table).toMatch(/bad\s+failure\s+\d+\.\ds\s+2/);
    expect(table).toMatch(/skipped-one\s+skipped\s+-\s+-/);
    expect(table).toContain("job failed in");
    const ws = join(cwd, "ws");
    mkdirSync(ws);
    const path = writeStepsReport(ws, report);
    expect(existsSync(path)).toBe(true);
    const json = JSON.parse(readFileSync(path, "utf8"));
    expect(json.success).toBe(false);
    expect(json.steps.map((s: { name: string; status: string; exitCode: number | null }) => [s.name, s.status, s.exitCode])).toEqual([
      ["ok", "success", 0],
      ["bad", "failure", 2],
      ["skipped-one", "skipped", null],
    ]);
  });
});
