import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export interface BenchResult {
  /** Short name; the file is bench/results/<name>.json. */
  name: string;
  /** What was measured, in the units the keys say (e.g. `mb_per_s`, `p50_ms`). */
  results: unknown;
  notes?: string;
}

const resultsDir = join(import.meta.dir, "..", "results");

function gitCommit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: resultsDir });
  return head.exitCode === 0 ? head.stdout.toString().trim() : "unknown";
}

/** Writes one benchmark's figures with the machine and commit they were measured on. */
export function writeBenchResult(result: BenchResult): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${result.name}.json`);
  const body = {
    ...result,
    measured_at: new Date().toISOString(),
    commit: gitCommit(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gib: Math.round(totalmem() / 2 ** 30), bun: Bun.version },
  };
  writeFileSync(file, JSON.stringify(body, null, 2) + "\n");
  return file;
}

/** Percentile of already-collected samples (nearest rank). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
