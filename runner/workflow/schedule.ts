import { jobEnvStrings } from "../protocol/job-spec.ts";
import type { TriggerJob } from "../protocol/trigger.ts";
import { parseCondition, shouldRun } from "../steps/condition.ts";
import type { OutputStream } from "../steps/engine.ts";
import type { Workflow, WorkflowJob } from "./load.ts";

export type JobStatus = "success" | "failure" | "skipped" | "error";

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

function decide(job: WorkflowJob, done: Map<string, JobRun>, eventEnv: Record<string, string>): string | null {
  const deps = job.dependsOn.map((d) => done.get(d)!);
  const failed = deps.filter((d) => d.status === "failure" || d.status === "error");
  if (job.condition === "all_success" && deps.some((d) => d.status !== "success")) {
    const bad = deps.filter((d) => d.status !== "success").map((d) => `${d.name} ${d.status}`);
    return `condition all_success: ${bad.join(", ")}`;
  }
  if (job.condition === "any_failed" && failed.length === 0) return "condition any_failed: no dependency failed";
  if (job.if && !shouldRun(parseCondition(job.if), { env: { ...eventEnv, ...jobEnvStrings(job.spec.env) }, steps: {}, failed: false })) {
    return `if: ${job.if}`;
  }
  return null;
}

/** Turns a run-time trigger into a job of this run: a workflow job by name, or a job_command. */
function triggeredJob(workflow: Workflow, trigger: TriggerJob, taken: Set<string>): WorkflowJob | string {
  const template = workflow.jobs.find((j) => j.name === trigger.job_name || j.group === trigger.job_name);
  if (!template && !trigger.job_command) {
    return `triggered job "${trigger.job_name}" is not in the workflow and has no job_command`;
  }
  let name = trigger.job_name;
  for (let n = 2; taken.has(name); n++) name = `${trigger.job_name}.${n}`;
  const base = template?.spec ?? {};
  return {
    name,
    group: trigger.job_name,
    spec: {
      ...base,
      name,
      ...(trigger.job_command ? { command: trigger.job_command, steps: undefined } : {}),
      ...(trigger.container_image ? { image: trigger.container_image } : {}),
      ...(trigger.timeout ? { timeout: trigger.timeout } : {}),
      env: { ...base.env, ...trigger.env },
    },
    dependsOn: (trigger.depends_on ?? []).filter((d) => taken.has(d)),
    condition: trigger.condition ?? "all_success",
    ...(template?.if ? { if: template.if } : {}),
    secretEnvNames: Object.keys(trigger.env ?? {}),
  };
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
          for (const trigger of result.triggers) {
            const extra = triggeredJob(workflow, trigger, taken);
            if (typeof extra === "string") {
              say(job.name, `error: ${extra}`);
              run.status = "error";
              run.reason = extra;
              continue;
            }
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
      const skip = options.signal?.aborted ? "workflow cancelled" : options.only ? null : decide(job, done, options.eventEnv);
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
    success: jobs.every((j) => j.status === "success" || j.status === "skipped"),
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
