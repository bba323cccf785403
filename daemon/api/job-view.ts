import type { Job } from "../jobs/store.ts";

/** A job as the API shows it (snake_case, ISO times). */
export function jobView(j: Job) {
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
    env: j.env,
    secrets: j.secretRefs,
    source: j.source,
    ci_source: j.ciSource,
    resources: j.resources,
    exit_code: j.exitCode,
    reason: j.reason,
    worker_id: j.workerId,
    parent_job_id: j.parentJobId,
    workflow_run_id: j.workflowRunId,
    log_lines: j.logLines,
    created_at: iso(j.createdAt),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
  };
}
