#!/usr/bin/env bun
/**
 * Prints the speed table of issue #18 (path, now, floor in the same run, ratio, goal) from
 * bench/results/*.json, so the README's figures can be checked against the files they come from.
 * Usage: bun scripts/bench-readme.ts
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const results = join(import.meta.dir, "..", "bench", "results");

interface Row {
  path: string;
  file: string;
  /** Dotted paths under `results`. */
  now: string;
  floor: string;
  unit: string;
  goal: string;
  /** How the ratio reads: now over floor (times slower) or now per floor (share of it). */
  ratio: "over" | "per";
  /** A file written by parts measured apart (worker.json): `results` field with this part's own commit, measured_at and load. */
  measured?: string;
  /** A second figure the goal names (the API's p99), shown after the first. */
  also?: { label: string; path: string; unit: string };
}

/** One row per figure of #18; each names the JSON fields it shows. */
const ROWS: Row[] = [
  { path: "submit → finished, trivial job, docker runtime", file: "worker", now: "latency_trivial_job_docker.p50_ms", floor: "floor_docker_run_true.p50_ms", unit: "ms", goal: "≤ 1.25 × floor", ratio: "over", measured: "docker_measured" },
  { path: "POST /api/v1/jobs, 64 concurrent clients", file: "api", now: "clients_64.submit.requests_per_s", floor: "clients_64.healthz_baseline.requests_per_s", unit: "/s", goal: "≥ 1,500/s, p99 < 50 ms", ratio: "per", also: { label: "p99", path: "clients_64.submit.p99_ms", unit: "ms" } },
  { path: "trivial jobs/s, process runtime, 16 slots", file: "worker", now: "throughput_process_runtime.slots_16.jobs_per_s", floor: "floor_runner_direct_16_parallel.jobs_per_s", unit: "/s", goal: "≥ 25/s and ≥ 2 × runner alone", ratio: "per", measured: "throughput_measured" },
  { path: "100 MB, 100 secrets, through the runner (pipe)", file: "masker", now: "through_runner.runner_cat_log.ms_p50", floor: "through_runner.floor_cat_pipe_cat.ms_p50", unit: "ms", goal: "≤ 2.5 × floor", ratio: "over" },
  { path: "reactorcide-runner run --job-command true", file: "runner-overhead", now: "runner_run_true.p50_ms", floor: "floor_compiled_bun_hello.p50_ms", unit: "ms", goal: "≤ 4 × floor", ratio: "over" },
  { path: "Corndogs claim+complete, 8 consumers (floor: pg-boss)", file: "queue", now: "corndogs.claim_complete_per_s_8_consumers", floor: "pg_boss.claim_complete_per_s_8_consumers", unit: "/s", goal: "≥ 2.5 × pg-boss", ratio: "per" },
];

function field(object: unknown, dotted: string): number | undefined {
  let at: unknown = object;
  for (const key of dotted.split(".")) at = at && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined;
  return typeof at === "number" ? at : undefined;
}

function load(name: string): { results: unknown; commit?: string; measured_at?: string; load?: number } | undefined {
  const file = join(results, `${name}.json`);
  if (!existsSync(file)) return undefined;
  const json = JSON.parse(readFileSync(file, "utf8")) as { results: unknown; commit?: string; measured_at?: string };
  return { ...json, load: field(json.results, "load_average_1m_at_start") ?? field(json.results, "through_runner.load_average_1m_at_start") ?? field(json.results, "load_average.latency_rounds.0") };
}

/** { commit, measured_at, load } of one part of a file, when it has its own. */
function partOf(results: unknown, key: string): { commit?: string; measured_at?: string; load?: number } | undefined {
  const part = results && typeof results === "object" ? (results as Record<string, unknown>)[key] : undefined;
  return part && typeof part === "object" ? (part as { commit?: string; measured_at?: string; load?: number }) : undefined;
}

const number = (n: number | undefined) => (n === undefined ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: 1 }));
const lines = ["| path | now | floor, same run | ratio | goal | from |", "| --- | ---: | ---: | ---: | --- | --- |"];
for (const row of ROWS) {
  const json = load(row.file);
  const now = json && field(json.results, row.now);
  const floor = json && field(json.results, row.floor);
  const ratio = now !== undefined && floor ? `${(now / floor).toFixed(2)}${row.ratio === "over" ? "×" : " of floor"}` : "n/a";
  const part = json && row.measured ? partOf(json.results, row.measured) : undefined;
  const commit = part?.commit ?? json?.commit;
  const measuredAt = part?.measured_at ?? json?.measured_at;
  const from = json ? `${row.file}.json (${commit ?? "?"}, ${measuredAt?.slice(0, 10) ?? "?"}, load ${number(part?.load ?? json.load)})` : `${row.file}.json missing`;
  const also = json && row.also ? `, ${row.also.label} ${number(field(json.results, row.also.path))} ${row.also.unit}` : "";
  lines.push(`| ${row.path} | ${number(now)} ${row.unit}${also} | ${number(floor)} ${row.unit} | ${ratio} | ${row.goal} | ${from} |`);
}
console.log(lines.join("\n"));
