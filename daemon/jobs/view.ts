import type { Job as JobView } from "../../runner/protocol/index.ts";
import type { Job } from "./store.ts";

/** A job as the API shows it: the contract's JobSchema (snake_case, ISO times), from its row. */
export function jobView(j: Job): JobView {
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
