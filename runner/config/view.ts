/**
 * The resolved configuration as people and scripts see it (`config`, `--dry-run`): every field
 * with its value and origin. Job environment values are never shown, only their names.
 */
import { FIELDS, type FieldName, type Origin } from "./fields.ts";
import type { ConfigProblem } from "../errors/problem.ts";
import type { ResolvedConfig } from "./resolve.ts";
import { displayUrl } from "../source/url-credentials.ts";
import { isInlineEnv } from "../workspace/env-file.ts";
import type { CellMask } from "../steps/summary.ts";

export const HIDDEN = "****";

export interface ConfigView {
  fields: { name: FieldName; value: string | number | boolean; origin: Origin; env: string; flag: string }[];
  job_env: { name: string; value: string; origin: Origin }[];
  job_file?: string;
}

function shownValue(r: ResolvedConfig, name: FieldName): string | number | boolean {
  const value = r.config[name];
  // Inline job env text holds values; show only the names it sets.
  if (name === "job_env" && typeof value === "string" && isInlineEnv(value)) {
    const names = value.split(/\r?\n/).map((l) => l.trim().replace(/^export\s+/, "").split("=")[0]).filter((n) => n && !n.startsWith("#"));
    return `(inline: ${names.join(", ")})`;
  }
  // A token in a source URL is a secret even when nobody registered it.
  if ((name === "source_url" || name === "ci_source_url") && typeof value === "string") return displayUrl(value);
  return value;
}

export function configView(r: ResolvedConfig): ConfigView {
  return {
    fields: FIELDS.map((f) => ({ name: f.name, value: shownValue(r, f.name), origin: r.origins[f.name], env: f.env, flag: `--${f.flag}` })),
    job_env: Object.keys(r.jobEnv).sort().map((name) => ({ name, value: HIDDEN, origin: r.jobEnvOrigins[name]! })),
    ...(r.jobFile ? { job_file: r.jobFile } : {}),
  };
}

function maskedTable(rawRows: string[][], mask: CellMask): string {
  const rows = rawRows.map((r) => r.map(mask));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => "  " + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

/** `mask` is applied to each cell before the columns are measured, so masked values stay aligned. */
export function formatConfig(view: ConfigView, mask: CellMask = (cell) => cell): string {
  const table = (rows: string[][]) => maskedTable(rows, mask);
  const rows = view.fields.map((f) => [f.name, String(f.value === "" ? "(unset)" : f.value), f.origin]);
  let text = `Configuration${view.job_file ? ` (job file ${view.job_file})` : ""}:\n${table([["field", "value", "from"], ...rows])}\n`;
  if (view.job_env.length) text += `Job environment (values hidden):\n${table(view.job_env.map((e) => [e.name, e.value, e.origin]))}\n`;
  return text;
}

export function formatProblem(p: ConfigProblem): string {
  let text = `${p.field}: ${p.message}`;
  if (p.allowed) text += `; allowed: ${p.allowed}`;
  if (p.suggestion) text += `; try: ${p.suggestion}`;
  return text;
}
