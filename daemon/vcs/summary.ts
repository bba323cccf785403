/** The pull request summary comment: each workflow, each job, status, duration, link. Markdown, read by both forges. */
import type { JobStatus } from "../../runner/protocol/index.ts";
import { SUMMARY_MARKER } from "./reports.ts";

/** A job's status, or its workflow node's while it has no job (waiting, skipped). */
export type SummaryStatus = JobStatus | "waiting" | "skipped";

export interface SummaryJob {
  name: string;
  status: SummaryStatus;
  url?: string;
  seconds?: number;
}

export interface SummaryGroup {
  name: string;
  context: string;
  url?: string;
  jobs: SummaryJob[];
}

const ICON: Record<SummaryStatus, string> = {
  waiting: "⏸️",
  skipped: "⏭️",
  queued: "⏳",
  running: "🔄",
  success: "✅",
  failure: "❌",
  error: "⚠️",
  cancelled: "⏹️",
  timed_out: "⌛",
};

export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return "–";
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m ${seconds % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** Job names come from the trusted checkout, but a table cell must not break: | and line breaks are escaped. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");
const link = (text: string, url?: string) => (url ? `[${cell(text)}](${url})` : cell(text));

export function renderSummary(input: { sha: string; eval: SummaryJob; groups: SummaryGroup[]; problems?: string[]; fork?: { baseSha?: string; awaiting: boolean } }): string {
  const lines = [SUMMARY_MARKER, `### Reactorcide for ${input.sha.slice(0, 12)}`, ""];
  if (input.fork) {
    // Said on every fork pull request: whatever it changes under .reactorcide/ is not what ran.
    const at = input.fork.baseSha ? ` at ${input.fork.baseSha.slice(0, 12)}` : "";
    lines.push(
      `> This pull request comes from a fork. Its workflows, job files and plugins were taken from the base repository${at}; changes it makes to CI files (\`.reactorcide/\`) were not used. Its jobs run untrusted, without secrets unless approved.`,
      "",
    );
    if (input.fork.awaiting) lines.push("⏸️ Waiting for approval: someone with write access comments `/reactorcide approve` (or `/reactorcide decline`).", "");
  }
  lines.push(`${ICON[input.eval.status]} ${link("eval", input.eval.url)}: ${input.eval.status} (${duration(input.eval.seconds)})`, "");
  if (input.problems?.length) {
    // The files with problems were left out; the others ran.
    lines.push("Problems in the CI definitions (those files were left out):", "");
    for (const p of input.problems) lines.push(`- \`${p.replace(/`/g, "'").replace(/[\r\n]+/g, " ")}\``);
    lines.push("");
  }
  if (input.groups.length === 0) {
    lines.push(input.eval.status === "success" ? "No workflow matches this pull request." : "No workflow has started yet.");
  }
  for (const g of input.groups) {
    lines.push(`#### ${link(g.name, g.url)}`, "", "| Job | Status | Duration |", "| --- | --- | --- |");
    for (const j of g.jobs) lines.push(`| ${link(j.name, j.url)} | ${ICON[j.status]} ${j.status} | ${duration(j.seconds)} |`);
    lines.push("");
  }
  return lines.join("\n");
}
