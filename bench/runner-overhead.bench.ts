/**
 * What the runner adds around a job: `reactorcide-runner run --job-command true` (compiled
 * binary, in place, fresh workspace) against `sh -c true`, median of 10 each, same run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, writeBenchResult } from "./lib/results.ts";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";

const RUNS = 10;
const binary = await ensureRunnerBinary();
const workspace = mkdtempSync(join(tmpdir(), "reactorcide-bench-"));

async function timed(argv: string[]): Promise<number> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" } });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return performance.now() - started;
}

const runner = ["run", "--workspace", workspace, "--job-command", "true"];
// Warm both once (page cache), then alternate so load changes hit both equally.
await timed(["sh", "-c", "true"]);
await timed([binary, ...runner]);
const shell: number[] = [];
const wrapped: number[] = [];
for (let i = 0; i < RUNS; i++) {
  shell.push(await timed(["sh", "-c", "true"]));
  wrapped.push(await timed([binary, ...runner]));
}
rmSync(workspace, { recursive: true, force: true });

const round = (n: number) => Math.round(n * 100) / 100;
const results = {
  runs: RUNS,
  baseline_sh_c_true: { p50_ms: round(percentile(shell, 50)), p90_ms: round(percentile(shell, 90)) },
  runner_run_true: { p50_ms: round(percentile(wrapped, 50)), p90_ms: round(percentile(wrapped, 90)) },
  overhead_p50_ms: round(percentile(wrapped, 50) - percentile(shell, 50)),
};
const file = writeBenchResult({ name: "runner-overhead", results, notes: "compiled runner, in place, no source; alternating runs" });
console.log(JSON.stringify(results, null, 2));
console.log(`wrote ${file}`);
