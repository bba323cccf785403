import type { TriggerJob } from "../protocol/trigger.ts";
import type { OutputStream } from "../steps/engine.ts";
import { runSucceeded, skipReason, triggeredNodes } from "./decide.ts";
import type { Workflow, WorkflowJob } from "./load.ts";

/** A job's end in a workflow report (cancelled and timed_out come from the daemon's runs). */
export type JobStatus = "success" | "failure" | "skipped" | "error" | "cancelled" | "timed_out";

export interface JobRun {
  name: string;
  status: JobStatus;
  exitCode: number | null;
  durationMs: number;
  reason?: string;
  /** Set for jobs that were not in the workflow file but requested by a job while it ran. */
  triggeredBy?: string;
}

export interface LaunchResult {
  exitCode: number;
  /** Follow-up jobs the job asked for (triggers.json and stdout trigger lines). */
  triggers: TriggerJob[];
}

/** Runs one job to completion: a separate runner process normally, anything in tests. */
export type LaunchJob = (
  job: WorkflowJob,
  io: { onLine: (stream: OutputStream, line: string) => void; signal: AbortSignal },
) => Promise<LaunchResult>;

export interface ScheduleOptions {
  launch: LaunchJob;
  maxParallel: number;
  /** The event's environment (REACTORCIDE_EVENT_TYPE, _BRANCH, ...), seen by `if:`. */
  eventEnv: Record<string, string>;
  output: (stream: OutputStream, text: string) => void;
  /** Run only this job (its dependencies are not run) and report what would come next. */
  only?: string;
  signal?: AbortSignal;
}

export interface NextJob {
  name: string;
  waitingOn: string[];
}

export interface WorkflowReport {
  success: boolean;
  durationMs: number;
  jobs: JobRun[];
  /** With `only`: the jobs that would run next. */
  next?: NextJob[];
}

/**
 * Runs a workflow's jobs: independent ones in parallel up to maxParallel, each after its
 * dependencies when its condition and `if:` allow, plus the jobs they trigger while running.
 */
export async function runWorkflow(workflow: Workflow, options: ScheduleOptions): Promise<WorkflowReport> {
  const started = performance.now();
  const done = new Map<string, JobRun>();
  const triggeredBy = new Map<string, string>();
  const running = new Map<string, Promise<void>>();
  let pending: WorkflowJob[];
  if (options.only) {
    const job = workflow.jobs.find((j) => j.name === options.only);
    if (!job) throw new Error(`--job: no job "${options.only}"; jobs: ${workflow.jobs.map((j) => j.name).join(", ")}`);
    pending = [{ ...job, dependsOn: [] }];
  } else {
    pending = [...workflow.jobs];
  }
  const taken = new Set(workflow.jobs.map((j) => j.name));
  const triggeredLater: string[] = [];
  const say = (name: string, text: string) => options.output("stdout", `[${name}] ${text}\n`);

  const finish = (run: JobRun) => {
    done.set(run.name, run);
    say(run.name, `${run.status}${run.exitCode === null ? "" : ` (exit ${run.exitCode})`}${run.reason ? `: ${run.reason}` : ""}`);
  };

  const start = (job: WorkflowJob) => {
    const t0 = performance.now();
    say(job.name, "start");
    const signal = options.signal ?? new AbortController().signal;
    const promise = options
      .launch(job, { onLine: (stream, line) => options.output(stream, `[${job.name}] ${line}\n`), signal })
      .then(
        (result) => {
          const run: JobRun = {
            name: job.name,
            status: result.exitCode === 0 ? "success" : "failure",
            exitCode: result.exitCode,
            durationMs: Math.round(performance.now() - t0),
          };
          if (triggeredBy.has(job.name)) run.triggeredBy = triggeredBy.get(job.name);
          const extras = result.triggers.length ? triggeredNodes(workflow.jobs, result.triggers, taken) : [];
          if (typeof extras === "string") {
            say(job.name, `error: ${extras}`);
            run.status = "error";
            run.reason = extras;
          }
          for (const extra of typeof extras === "string" ? [] : extras) {
            taken.add(extra.name);
            triggeredBy.set(extra.name, job.name);
            say(job.name, `triggered ${extra.name}`);
            if (options.only) triggeredLater.push(extra.name);
            else pending.push(extra);
          }
          finish(run);
        },
        (error: Error) => finish({ name: job.name, status: "error", exitCode: null, durationMs: Math.round(performance.now() - t0), reason: error.message }),
      )
      .finally(() => running.delete(job.name));
    running.set(job.name, promise);
  };

  while (pending.length || running.size) {
    let progressed = false;
    for (const job of [...pending]) {
      if (running.size >= options.maxParallel) break;
      if (!job.dependsOn.every((d) => done.has(d))) continue;
      pending = pending.filter((p) => p !== job);
      progressed = true;
      const skip = options.signal?.aborted ? "workflow cancelled" : options.only ? null : skipReason(job, job.dependsOn.map((d) => done.get(d)!), options.eventEnv);
      if (skip) finish({ name: job.name, status: "skipped", exitCode: null, durationMs: 0, reason: skip });
      else start(job);
    }
    if (running.size) await Promise.race(running.values());
    else if (!progressed && pending.length) {
      // Only triggered jobs can get here: they named a dependency that never comes.
      for (const job of pending) finish({ name: job.name, status: "error", exitCode: null, durationMs: 0, reason: "dependencies never ran" });
      pending = [];
    }
  }

  const jobs = [...done.values()];
  const report: WorkflowReport = {
    success: runSucceeded(jobs.map((j) => j.status)),
    durationMs: Math.round(performance.now() - started),
    jobs,
  };
  if (options.only) report.next = nextJobs(workflow, options.only, triggeredLater);
  return report;
}

/** After running one job alone: the jobs that depend on it, with what else they wait for. */
function nextJobs(workflow: Workflow, only: string, triggered: string[]): NextJob[] {
  const next: NextJob[] = workflow.jobs
    .filter((j) => j.dependsOn.includes(only))
    .map((j) => ({ name: j.name, waitingOn: j.dependsOn.filter((d) => d !== only) }));
  return [...next, ...triggered.map((name) => ({ name, waitingOn: [] }))];
}
