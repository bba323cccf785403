/**
 * What the runner adds around a job: `reactorcide-runner run --job-command true` (compiled
 * binary, in place, fresh workspace) against the floor of any compiled Bun program, a compiled
 * "hello" built in the same run (`bun build --compile`), and `sh -c true`; alternating runs,
 * medians.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, writeBenchResult } from "./lib/results.ts";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";

const RUNS = 20;
const binary = await ensureRunnerBinary();
const dir = mkdtempSync(join(tmpdir(), "reactorcide-bench-"));
const workspace = join(dir, "ws");
const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;

// The floor: the smallest compiled Bun executable, built with the same Bun as the runner.
writeFileSync(join(dir, "hello.ts"), 'console.log("hello");\n');
const hello = join(dir, "hello");
const build = Bun.spawnSync([process.execPath, "build", "--compile", join(dir, "hello.ts"), "--outfile", hello], { stdout: "ignore", stderr: "pipe" });
if (build.exitCode !== 0) throw new Error(`building the hello executable failed: ${build.stderr}`);

async function timed(argv: string[]): Promise<number> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir } });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return performance.now() - started;
}

const runner = [binary, "run", "--workspace", workspace, "--job-command", "true"];
// Warm each once (page cache), then alternate so load changes hit all alike.
for (const argv of [["sh", "-c", "true"], [hello], runner]) await timed(argv);
const shell: number[] = [];
const helloMs: number[] = [];
const wrapped: number[] = [];
for (let i = 0; i < RUNS; i++) {
  shell.push(await timed(["sh", "-c", "true"]));
  helloMs.push(await timed([hello]));
  wrapped.push(await timed(runner));
}
rmSync(dir, { recursive: true, force: true });

const round = (n: number) => Math.round(n * 100) / 100;
const summary = (xs: number[]) => ({ p50_ms: round(percentile(xs, 50)), p90_ms: round(percentile(xs, 90)), min_ms: round(Math.min(...xs)) });
const results = {
  runs: RUNS,
  load_average_1m_at_start: loadAtStart,
  runner_run_true: summary(wrapped),
  floor_compiled_bun_hello: summary(helloMs),
  baseline_sh_c_true: summary(shell),
  ratio_runner_over_hello_p50: round(percentile(wrapped, 50) / percentile(helloMs, 50)),
  overhead_over_hello_p50_ms: round(percentile(wrapped, 50) - percentile(helloMs, 50)),
};
const file = writeBenchResult({
  name: "runner-overhead",
  results,
  notes: "compiled runner, in place, no source, one workspace for every run; floor: a compiled Bun hello built in the same run; alternating runs, medians",
});
console.log(JSON.stringify(results, null, 2));
console.log(`wrote ${file}`);
