import type { Job as JobView } from "../../runner/protocol/index.ts";
import type { Job } from "./store.ts";

/** What stands for a value of a `secret_env` name wherever a job is shown. */
export const MASKED_ENV_VALUE = "***";

/**
 * A job as the API shows it: the contract's JobSchema (snake_case, ISO times), from its row. The
 * values of its secret_env names are shown as *** (the API, job events, notifications).
 */
export function jobView(j: Job): JobView {
  return view(j, false);
}

/** The same for the worker, which must inject the secret_env values: whole. */
export function workerJobView(j: Job): JobView {
  return view(j, true);
}

function view(j: Job, reveal: boolean): JobView {
  const env = reveal || j.secretEnvNames.length === 0 ? j.env : Object.fromEntries(Object.entries(j.env).map(([k, v]) => [k, j.secretEnvNames.includes(k) ? MASKED_ENV_VALUE : v]));
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: j.id,
    project_id: j.projectId,
    name: j.name,
    status: j.status,
    priority: j.priority,
    timeout: j.timeoutSeconds,
    attempt: j.attempt,
    retry_of: j.retryOf,
    image: j.image,
    command: j.command,
    steps: j.steps,
    step_results: j.stepResults,
    env,
    secrets: j.secretRefs,
    secret_env: j.secretEnvNames,
    source: j.source,
    ci_source: j.ciSource,
    resources: j.resources,
    network: j.network,
    retries: j.retries,
    untrusted: j.untrusted,
    exit_code: j.exitCode,
    reason: j.reason,
    worker_id: j.workerId,
    parent_job_id: j.parentJobId,
    workflow_run_id: j.workflowRunId,
    log_lines: j.logLines,
    created_at: j.createdAt.toISOString(),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
  };
}
