/**
 * What notifications hear about: a workflow run or a job that ended. The job service's "job
 * ended" and the workflow engine's "workflow run ended" events are turned into this one shape.
 */

export interface Ended {
  subject: "workflow_run" | "job";
  /** The run's or the job's id. */
  id: string;
  projectId: string;
  /** Workflow name or job name: with the branch, what `fixed` compares against. */
  name: string;
  /** An end status: a job's (success, failure, error, cancelled, timed_out) or a run's. */
  status: string;
  branch: string | null;
  /** push, pull_request_opened, ...; null for a run or job started through the API. */
  event: string | null;
  finishedAt: Date;
}

/** A job as the job service's "job ended" event carries it (the API's view of the job). */
export interface JobViewFacts {
  id: string;
  project_id: string;
  name: string;
  status: string;
  env: Record<string, string>;
  source: { ref?: string } | null;
  workflow_run_id: string | null;
  finished_at: string | null;
}

/** The end of a job that ran on its own; undefined for a job of a workflow run (its run reports it). */
export function endedOfJobView(job: JobViewFacts, at: Date): Ended | undefined {
  if (job.workflow_run_id) return undefined;
  return {
    subject: "job",
    id: job.id,
    projectId: job.project_id,
    name: job.name,
    status: job.status,
    branch: branchOfJob(job),
    event: eventOfJob(job),
    finishedAt: job.finished_at ? new Date(job.finished_at) : at,
  };
}

interface RunFacts {
  id: string;
  projectId: string;
  name: string;
  status: string;
  event: string | null;
  ref: string | null;
  context: Record<string, unknown>;
  finishedAt: Date | null;
}

/** The branch of a workflow run: the event's (the env every node sees), else its ref. */
export function branchOfRun(run: Pick<RunFacts, "ref" | "context">): string | null {
  const env = (run.context as { eventEnv?: Record<string, string> }).eventEnv;
  return env?.REACTORCIDE_BRANCH || branchOfRef(run.ref);
}

/** A workflow run that ended with `status` (the run's status when its "ended" event was written). */
export function endedOfRun(run: RunFacts, status = run.status, at?: Date): Ended {
  return {
    subject: "workflow_run",
    id: run.id,
    projectId: run.projectId,
    name: run.name,
    status,
    branch: branchOfRun(run),
    event: run.event,
    finishedAt: run.finishedAt ?? at ?? new Date(),
  };
}

/** Statuses a `failure` rule fires on (and that a later success `fixed`). Cancelled is neither: someone chose it. */
export const FAILED_STATUSES: readonly string[] = ["failure", "error", "timed_out"];
export const isFailed = (status: string) => FAILED_STATUSES.includes(status);

/** The branch a ref names (`refs/heads/main` → `main`); tags and commits name none. */
export function branchOfRef(ref: string | null | undefined): string | null {
  if (!ref) return null;
  if (ref.startsWith("refs/heads/")) return ref.slice("refs/heads/".length);
  if (ref.startsWith("refs/")) return null;
  if (/^[0-9a-f]{7,64}$/i.test(ref)) return null;
  return ref;
}

/** The branch of a job: what the event set (REACTORCIDE_BRANCH), else its source ref. */
export function branchOfJob(job: { env: Record<string, string>; source: { ref?: string } | null }): string | null {
  return job.env.REACTORCIDE_BRANCH || branchOfRef(job.source?.ref);
}

/** The event of a job, as eval and the VCS webhooks set it (REACTORCIDE_EVENT_TYPE). */
export function eventOfJob(job: { env: Record<string, string> }): string | null {
  return job.env.REACTORCIDE_EVENT_TYPE || null;
}
