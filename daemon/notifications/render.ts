/** A summary as people read it: the e-mail's subject, text and HTML parts, and the chat line. */
import type { JobSummary, RunSummary } from "./summary.ts";

const WORDS: Record<string, string> = {
  success: "succeeded",
  failure: "failed",
  error: "errored",
  timed_out: "timed out",
  cancelled: "was cancelled",
  running: "is running",
};
const outcome = (s: RunSummary) => (s.fixed ? "is fixed" : (WORDS[s.status] ?? s.status));
const what = (s: RunSummary) => (s.run.kind === "job" ? `job ${s.run.name}` : `workflow ${s.run.name}`);
const short = (sha: string | null) => (sha ? sha.slice(0, 12) : null);

export function duration(secondsValue: number | null): string {
  if (secondsValue === null) return "-";
  if (secondsValue < 60) return `${secondsValue}s`;
  const m = Math.floor(secondsValue / 60);
  const s = Math.round(secondsValue % 60);
  return m < 60 ? `${m}m ${s}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function subjectLine(s: RunSummary): string {
  const where = [s.run.branch && `on ${s.run.branch}`, short(s.run.commit) && `(${short(s.run.commit)})`].filter(Boolean).join(" ");
  const prefix = s.event === "test" ? "[test] " : "";
  return `${prefix}[${s.project.name}] ${what(s)} ${outcome(s)}${where ? ` ${where}` : ""}`;
}

function facts(s: RunSummary): [string, string][] {
  return [
    ["Project", s.project.name],
    [s.run.kind === "job" ? "Job" : "Workflow", s.run.name],
    ["Status", s.fixed ? `${s.status} (fixed)` : s.status],
    ["Branch", s.run.branch ?? "-"],
    ["Commit", s.run.commit ?? "-"],
    ["Event", s.run.event ?? "-"],
    ["Triggered by", s.run.actor ?? "-"],
    ["Duration", duration(s.run.duration_seconds)],
  ];
}

const failedWithLog = (s: RunSummary) => s.jobs.filter((j): j is JobSummary & { log_tail: string[] } => Array.isArray(j.log_tail));

export function renderText(s: RunSummary): string {
  const out: string[] = [];
  if (s.event === "test") out.push("This is a test notification: the run below is a sample.", "");
  out.push(subjectLine(s), "");
  const width = Math.max(...facts(s).map(([k]) => k.length));
  for (const [k, v] of facts(s)) out.push(`${k.padEnd(width)}  ${v}`);
  out.push("", "Jobs:");
  const nameWidth = Math.max(4, ...s.jobs.map((j) => j.name.length));
  for (const j of s.jobs) out.push(`  ${j.name.padEnd(nameWidth)}  ${j.status.padEnd(9)}  ${duration(j.duration_seconds)}`);
  if (s.jobs.length === 0) out.push("  (none)");
  for (const j of failedWithLog(s)) {
    out.push("", `Last lines of ${j.name}${j.reason ? ` (${j.reason})` : ""}:`);
    for (const line of j.log_tail) out.push(`  | ${line}`);
  }
  out.push("", `Run: ${s.links.run}`, "");
  return out.join("\n");
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const COLORS: Record<string, string> = { success: "#1a7f37", failure: "#cf222e", error: "#cf222e", timed_out: "#bc4c00", cancelled: "#6e7781" };

export function renderHtml(s: RunSummary): string {
  const cell = "padding:4px 12px 4px 0;text-align:left";
  const rows = facts(s).map(([k, v]) => `<tr><th style="${cell}">${escape(k)}</th><td>${escape(v)}</td></tr>`).join("");
  const jobRows = s.jobs
    .map(
      (j) =>
        `<tr><td style="${cell}"><a href="${escape(j.url)}">${escape(j.name)}</a></td>` +
        `<td style="${cell};color:${COLORS[j.status] ?? "#000"}">${escape(j.status)}</td><td>${escape(duration(j.duration_seconds))}</td></tr>`,
    )
    .join("");
  const logs = failedWithLog(s)
    .map(
      (j) =>
        `<h3>Last lines of ${escape(j.name)}${j.reason ? ` (${escape(j.reason)})` : ""}</h3>` +
        `<pre style="background:#f6f8fa;padding:8px;white-space:pre-wrap">${escape(j.log_tail.join("\n"))}</pre>`,
    )
    .join("");
  const test = s.event === "test" ? "<p><em>This is a test notification: the run below is a sample.</em></p>" : "";
  return (
    `<!doctype html><html><body style="font-family:sans-serif">${test}` +
    `<h2 style="color:${s.fixed ? COLORS.success : (COLORS[s.status] ?? "#000")}">${escape(subjectLine(s))}</h2>` +
    `<table>${rows}</table><h3>Jobs</h3><table><tr><th style="${cell}">Job</th><th style="${cell}">Status</th><th style="${cell}">Duration</th></tr>${jobRows}</table>` +
    `${logs}<p><a href="${escape(s.links.run)}">Open the run</a></p></body></html>`
  );
}

/** Slack's and Mattermost's `text`: mrkdwn, with `<url|label>` links; `&`, `<`, `>` escaped as Slack asks. */
export function renderChatText(s: RunSummary): string {
  const slack = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const icon = s.fixed || s.status === "success" ? ":white_check_mark:" : s.status === "cancelled" ? ":no_entry_sign:" : ":x:";
  const where = [s.run.branch && `on \`${slack(s.run.branch)}\``, short(s.run.commit) && `(${short(s.run.commit)})`, s.run.actor && `by ${slack(s.run.actor)}`]
    .filter(Boolean)
    .join(" ");
  const head = `${s.event === "test" ? "[test] " : ""}${icon} *${slack(s.project.name)}* ${slack(what(s))} ${outcome(s)}${where ? ` ${where}` : ""} (<${s.links.run}|open>)`;
  const jobs = s.jobs.map((j) => `${j.status === "success" ? "•" : "✗"} ${slack(j.name)}: ${j.status} in ${duration(j.duration_seconds)}`);
  return [head, ...jobs].join("\n");
}
