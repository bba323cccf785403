import { $ } from "bun";
import { formatTable } from "../steps/summary.ts";
import type { WorkflowReport } from "./schedule.ts";

export function formatWorkflowSummary(report: WorkflowReport): string {
  const rows = report.jobs.map((j) => [
    j.name,
    j.status,
    j.status === "skipped" ? "-" : `${(j.durationMs / 1000).toFixed(1)}s`,
    j.exitCode === null ? "-" : String(j.exitCode),
    [j.triggeredBy ? `triggered by ${j.triggeredBy}` : "", j.reason ?? ""].filter(Boolean).join("; "),
  ]);
  const verdict = `workflow ${report.success ? "succeeded" : "failed"} in ${(report.durationMs / 1000).toFixed(1)}s`;
  return `${formatTable(["JOB", "STATUS", "DURATION", "EXIT", "NOTE"], rows)}${verdict}\n`;
}

/** What `--job NAME` prints after its one job: the jobs that would come next and how to run them. */
export function formatNextJobs(report: WorkflowReport, command: string[]): string {
  const next = report.next ?? [];
  if (next.length === 0) return "Nothing runs after this job.\n";
  const lines = ["Next jobs to run:"];
  for (const job of next) {
    lines.push(`  → ${job.name}${job.waitingOn.length ? ` (also waiting on: ${job.waitingOn.join(", ")})` : ""}`);
  }
  lines.push("Run the next job:");
  for (const job of next) lines.push(`  $ ${[...command, "--job", job.name].map((a) => $.escape(a)).join(" ")}`);
  return `${lines.join("\n")}\n`;
}
