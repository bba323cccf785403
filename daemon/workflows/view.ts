import type { JobStatus } from "../../runner/protocol/job.ts";
import type { WorkflowRunView } from "../../runner/protocol/workflow-run.ts";
import type { WorkflowNode, WorkflowRun } from "./engine.ts";

/** A workflow run as the API shows it (snake_case, ISO times); a queued node shows its job's live status. */
export function workflowRunView({ run, nodes, jobStatus }: { run: WorkflowRun; nodes: WorkflowNode[]; jobStatus: ReadonlyMap<string, JobStatus> }): WorkflowRunView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: run.id,
    project_id: run.projectId,
    name: run.name,
    status: run.status,
    event: run.event,
    ref: run.ref,
    sha: run.commitSha,
    reason: run.reason,
    retry_of: run.retryOf,
    created_at: run.createdAt.toISOString(),
    finished_at: iso(run.finishedAt),
    nodes: nodes.map((n) => ({
      name: n.name,
      status: n.status === "queued" && n.jobId ? (jobStatus.get(n.jobId) ?? n.status) : n.status,
      job_id: n.jobId,
      depends_on: n.dependsOn,
      condition: n.condition,
      reason: n.reason,
      parent_job_id: n.parentJobId,
    })),
  };
}
