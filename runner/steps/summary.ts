import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStepsReport, STEPS_FILE, type StepsReport } from "../protocol/step-result.ts";
import { readJobWrittenJson } from "../workspace/job-written.ts";

export { STEPS_FILE };

/** A cell as it will be printed (masked), so columns are measured on what the reader sees. */
export type CellMask = (cell: string) => string;

/** The end-of-job table: step, status, duration, exit code. */
export function formatStepsSummary(report: StepsReport, mask?: CellMask): string {
  const rows = report.steps.map((s) => [
    s.name,
    s.timedOut ? "timed out" : s.continuedOnError ? "failure (ignored)" : s.status,
    s.startedAt ? `${(s.durationMs / 1000).toFixed(1)}s` : "-",
    s.exitCode === null ? "-" : String(s.exitCode),
  ]);
  return `${formatTable(["STEP", "STATUS", "DURATION", "EXIT"], rows, mask)}job ${report.success ? "succeeded" : "failed"} in ${(report.durationMs / 1000).toFixed(1)}s\n`;
}

/** Left-aligned columns two spaces apart, one line per row. */
export function formatTable(header: string[], rawRows: string[][], mask?: CellMask): string {
  const rows = mask ? rawRows.map((r) => r.map(mask)) : rawRows;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [header, ...rows].map(line).join("\n") + "\n";
}

/**
 * <workspace>/steps.json for machines, replaced atomically. The job could have left a link at
 * the temporary name (it owns the workspace, the runner may be root): whatever is there is
 * removed and the file created exclusively, so the write never follows a link out.
 */
export function writeStepsReport(workspace: string, report: StepsReport): string {
  const path = join(workspace, STEPS_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true, recursive: true });
  writeFileSync(temp, `${JSON.stringify(report, null, 2)}\n`, { flag: "wx" });
  renameSync(temp, path);
  return path;
}

const MAX_STEPS_BYTES = 4 << 20;

/** <workspace>/steps.json read back and checked; null when the job wrote none (a plain command). */
export function readStepsReport(workspace: string): StepsReport | null {
  const path = join(workspace, STEPS_FILE);
  const json = readJobWrittenJson(path, MAX_STEPS_BYTES);
  return json === null ? null : parseStepsReport(json);
}
