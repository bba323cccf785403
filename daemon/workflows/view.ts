import type { JobStatus } from "../../runner/protocol/job.ts";
import type { WorkflowRunView } from "../../runner/protocol/workflow-run.ts";
import type { ForkPrDecisionRow, RunContext, WorkflowNode, WorkflowRun } from "./engine.ts";

/** A workflow run as the API shows it (snake_case, ISO times); a queued node shows its job's live status. */
export function workflowRunView({
  run,
  nodes,
  jobStatus,
  decision,
}: {
  run: WorkflowRun;
  nodes: WorkflowNode[];
  jobStatus: ReadonlyMap<string, JobStatus>;
  decision?: ForkPrDecisionRow | null;
}): WorkflowRunView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const fork = (run.context as unknown as RunContext | null)?.forkPr;
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
    fork_pr: fork
      ? {
          pr_number: fork.prNumber,
          head_sha: fork.headSha,
          base_sha: fork.baseSha,
          head_repo_url: fork.headRepoUrl,
          author: fork.author,
          maintainer: fork.maintainer,
          approval: decision ? { decision: decision.decision, by: decision.decidedBy, via: decision.via, at: decision.createdAt.toISOString() } : null,
        }
      : null,
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
