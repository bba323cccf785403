/**
 * `workflow submit --follow`: the run as the local `workflow run` shows it. Each node's log is
 * followed as its job starts, every line prefixed `[job]`, each end said once, and at the end the
 * same summary table (runner/workflow/report.ts) and the same exit code: 0 success, 1 failure.
 */
import type { JobRun, WorkflowReport } from "../../runner/workflow/schedule.ts";
import type { WorkflowRunView } from "../../runner/protocol/index.ts";
import type { ApiClient } from "./api-client.ts";

export type RunView = WorkflowRunView;

const ENDED = new Set(["success", "failure", "error", "cancelled", "timed_out", "skipped"]);
export const RUN_ENDED = new Set(["success", "failure", "cancelled"]);

export async function followRun(client: ApiClient, runId: string, write: (text: string) => void, pollMs = 500): Promise<{ run: RunView; report: WorkflowReport }> {
  const following = new Map<string, Promise<void>>();
  const said = new Set<string>();
  let run: RunView;
  for (;;) {
    run = await client.getWorkflow(runId);
    for (const node of run.nodes) {
      if (node.job_id && !following.has(node.name)) {
        write(`[${node.name}] start\n`);
        following.set(
          node.name,
          client
            .follow(node.job_id, (line, stream) => {
              // The worker's own lines are its record of the job; the local run shows only the job's, and its triggers.
              if (stream === "system" && !line.startsWith("trigger")) return;
              write(`[${node.name}] ${line}\n`);
            })
            .then(
              (end) => {
                // Said as each job ends, as the local run does.
                said.add(node.name);
                write(`[${node.name}] ${end.status}${"reason" in end ? `: ${end.reason}` : end.exit_code == null ? "" : ` (exit ${end.exit_code})`}\n`);
              },
              (error: Error) => write(`[${node.name}] log: ${error.message}\n`),
            ),
        );
      }
      if (node.status === "skipped" && !said.has(node.name)) {
        said.add(node.name);
        write(`[${node.name}] skipped${node.reason ? `: ${node.reason}` : ""}\n`);
      }
    }
    if (RUN_ENDED.has(run.status)) break;
    await Bun.sleep(pollMs);
  }
  await Promise.all(following.values());
  const jobs = await Promise.all(
    run.nodes.map((n) => (n.job_id ? client.getJob(n.job_id) : Promise.resolve(undefined))),
  );
  const byJob = new Map(run.nodes.map((n) => [n.job_id, n.name]));
  const rows: JobRun[] = run.nodes.map((node, i) => {
    const job = jobs[i];
    const ms = job?.started_at && job.finished_at ? Date.parse(job.finished_at) - Date.parse(job.started_at) : 0;
    const status = (ENDED.has(node.status) ? node.status : "cancelled") as JobRun["status"];
    if (!said.has(node.name) && node.status !== "skipped") write(`[${node.name}] ${status}${job?.exit_code == null ? "" : ` (exit ${job.exit_code})`}\n`);
    return {
      name: node.name,
      status,
      exitCode: job?.exit_code ?? null,
      durationMs: ms,
      ...(node.reason && status !== "success" ? { reason: node.reason } : {}),
      ...(node.parent_job_id && byJob.get(node.parent_job_id) ? { triggeredBy: byJob.get(node.parent_job_id) } : {}),
    };
  });
  const total = run.finished_at ? Date.parse(run.finished_at) - Date.parse(run.created_at!) : 0;
  return { run, report: { success: run.status === "success", durationMs: total, jobs: rows } };
}
