/**
 * Masking throughput on a 100 MB job log with 1, 10, 100 and 1,000 secrets (each with its
 * encoded forms), against `cat` of the same file measured in the same run.
 *
 * Each masked run reads the log from a `cat` child (as the runner reads a job's stdout) and
 * masks it through one MaskingStream; the baselines are `cat FILE > /dev/null` and reading the
 * same pipe without masking.
 *
 * Then the whole path: the compiled runner running `cat FILE` as the job with 100 secrets, its
 * output read through a pipe by this process, against `sh -c 'cat FILE | cat'` read the same
 * way (the same bytes through one more process, unmasked), alternating.
 */
import { consola } from "consola";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadavg } from "node:os";
import { Masker } from "../runner/secrets/masker.ts";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const SIZE = 100 * 1024 * 1024;
const REPEATS = 3;
const COUNTS = [1, 10, 100, 1000];

function seeded(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}
const rand = seeded(42);
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const token = (n: number) => Array.from({ length: n }, () => ALNUM[Math.floor(rand() * ALNUM.length)]).join("");
const secrets = Array.from({ length: Math.max(...COUNTS) }, () => token(32));

/** A build log with the first secret (raw and base64) on one line in ten thousand. */
async function writeLog(file: string): Promise<void> {
  const words = ["compiling", "linking", "fetching", "resolved", "warning:", "test", "ok", "module", "src/lib/index.ts", "npm", "GET", "200"];
  const writer = Bun.file(file).writer();
  let written = 0;
  let n = 0;
  while (written < SIZE) {
    let line = `2026-11-23T09:00:${String(n % 60).padStart(2, "0")}.${n % 1000}Z [step ${n % 7}]`;
    const count = 4 + Math.floor(rand() * 10);
    for (let i = 0; i < count; i++) line += " " + words[Math.floor(rand() * words.length)] + (rand() < 0.3 ? token(8) : "");
    if (n % 10_000 === 0) line += ` token=${secrets[0]} b64=${Buffer.from(`x:${secrets[0]}`).toString("base64")}`;
    line += "\n";
    writer.write(line);
    written += line.length;
    n++;
  }
  await writer.end();
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function catToDevNull(file: string): Promise<void> {
  const proc = Bun.spawn(["cat", file], { stdout: Bun.file("/dev/null") });
  if ((await proc.exited) !== 0) throw new Error("cat failed");
}

async function readPipe(file: string, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const proc = Bun.spawn(["cat", file], { stdout: "pipe" });
  for await (const chunk of proc.stdout) onChunk(chunk);
  if ((await proc.exited) !== 0) throw new Error("cat failed");
}

const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
const dir = mkdtempSync(join(tmpdir(), "masker-bench-"));
try {
  const file = join(dir, "job.log");
  await writeLog(file);
  const bytes = statSync(file).size;
  const mb = bytes / 1e6;
  consola.info(`log: ${mb.toFixed(1)} MB`);

  const rate = (samples: number[]) => ({
    mb_per_s_p50: Number((mb / (percentile(samples, 50) / 1000)).toFixed(1)),
    ms_p50: Number(percentile(samples, 50).toFixed(1)),
    ms_all: samples.map((s) => Number(s.toFixed(1))),
  });

  const cat: number[] = [];
  const pipe: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    cat.push(await timed(() => catToDevNull(file)));
    let seen = 0;
    pipe.push(await timed(() => readPipe(file, (c) => (seen += c.length))));
    if (seen !== bytes) throw new Error(`pipe read ${seen} of ${bytes} bytes`);
  }
  const baseline = { cat_to_dev_null: rate(cat), cat_pipe_read_unmasked: rate(pipe) };
  consola.info(`cat > /dev/null: ${baseline.cat_to_dev_null.mb_per_s_p50} MB/s; pipe read: ${baseline.cat_pipe_read_unmasked.mb_per_s_p50} MB/s`);

  // Warm the JIT on the scan loop so the first count measured is not also paying for compilation.
  const warm = new Masker();
  warm.register(secrets.slice(0, 10));
  const warmStream = warm.stream(() => {});
  await readPipe(file, (c) => warmStream.write(c));
  warmStream.end();

  const masked: Record<string, unknown> = {};
  for (const count of COUNTS) {
    const masker = new Masker();
    masker.register(secrets.slice(0, count));
    const buildStart = performance.now();
    masker.automaton();
    const buildMs = performance.now() - buildStart;
    const states = masker.automaton().states;
    const samples: number[] = [];
    let out = 0;
    for (let r = 0; r < REPEATS; r++) {
      out = 0;
      let masks = 0;
      const stream = masker.stream((c) => {
        out += c.length;
        masks += c.length; // keep the sink from being optimised away
      });
      samples.push(await timed(() => readPipe(file, (c) => stream.write(c))));
      stream.end();
      if (masks === 0) throw new Error("no output");
    }
    const result = { ...rate(samples), build_ms: Number(buildMs.toFixed(1)), dfa_states: states, output_bytes: out };
    masked[`secrets_${count}`] = result;
    consola.info(`${count} secret(s): ${result.mb_per_s_p50} MB/s (build ${result.build_ms} ms, ${states} states)`);
  }

  // The whole path through the compiled runner, against the same bytes through `cat | cat`.
  const runner = await ensureRunnerBinary();
  const workspace = mkdtempSync(join(dir, "ws-"));
  const runnerSecrets = secrets.slice(0, 100).join(",");
  /** Reads a child's stdout to its end through a pipe, as a worker reads a job's. */
  // CPU (user + system) of the child and the processes it waited for (the job's cat, or both
  // cats of the floor), from wait4: on a loaded machine it moves far less than the wall time.
  const cpuMs: { runner: number[]; floor: number[] } = { runner: [], floor: [] };
  const drain = async (proc: Bun.Subprocess<"ignore", "pipe", "ignore" | "inherit">, what: string, cpu: number[]) => {
    let seen = 0;
    for await (const chunk of proc.stdout) seen += chunk.length;
    if ((await proc.exited) !== 0) throw new Error(`${what} failed`);
    if (seen < bytes * 0.99) throw new Error(`${what}: read ${seen} of ${bytes} bytes`);
    const usage = proc.resourceUsage();
    if (usage) cpu.push(Number(usage.cpuTime.total) / 1000);
  };
  const runnerArgv = [runner, "run", "--workspace", workspace, "--job-command", `cat ${file}`];
  const runnerEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, REACTORCIDE_SECRET_VALUES_LIST: runnerSecrets };
  const runRunner = (stdout: "pipe" | ReturnType<typeof Bun.file>) => async () => {
    if (stdout === "pipe") return drain(Bun.spawn(runnerArgv, { env: runnerEnv, stdin: "ignore", stdout: "pipe", stderr: "ignore" }), "the runner", cpuMs.runner);
    const proc = Bun.spawn(runnerArgv, { env: runnerEnv, stdout, stderr: "ignore" });
    if ((await proc.exited) !== 0) throw new Error("the runner failed");
  };
  const catCat = () => drain(Bun.spawn(["sh", "-c", `cat '${file}' | cat`], { stdin: "ignore", stdout: "pipe", stderr: "inherit" }), "cat | cat", cpuMs.floor);
  // Once to a file: every secret masked, every other byte through.
  const checkFile = join(dir, "runner-out.log");
  await runRunner(Bun.file(checkFile))();
  const out = await Bun.file(checkFile).text();
  if (out.includes(secrets[0]!)) throw new Error("the runner's output holds a secret");
  if (!out.includes("token=***")) throw new Error("the runner's output holds no mask");
  rmSync(checkFile);
  const throughRunner: number[] = [];
  const floorCatCat: number[] = [];
  const runs = 5;
  for (let r = 0; r < runs; r++) {
    floorCatCat.push(await timed(catCat));
    throughRunner.push(await timed(runRunner("pipe")));
  }
  const runnerP50 = percentile(throughRunner, 50);
  const floorP50 = percentile(floorCatCat, 50);
  const runnerPath = {
    secrets: 100,
    runs,
    load_average_1m_at_start: loadAtStart,
    runner_cat_log: { ...rate(throughRunner), ms_min: Number(Math.min(...throughRunner).toFixed(1)) },
    floor_cat_pipe_cat: { ...rate(floorCatCat), ms_min: Number(Math.min(...floorCatCat).toFixed(1)) },
    ratio_p50: Number((runnerP50 / floorP50).toFixed(2)),
    cpu_ms_p50: { runner: Number(percentile(cpuMs.runner, 50).toFixed(1)), floor: Number(percentile(cpuMs.floor, 50).toFixed(1)) },
    cpu_ms_per_mb_p50: { runner: Number((percentile(cpuMs.runner, 50) / mb).toFixed(2)), floor: Number((percentile(cpuMs.floor, 50) / mb).toFixed(2)) },
    cpu_ratio_p50: Number((percentile(cpuMs.runner, 50) / percentile(cpuMs.floor, 50)).toFixed(2)),
    ratio_min: Number((Math.min(...throughRunner) / Math.min(...floorCatCat)).toFixed(2)),
    load_average_1m_at_end: Math.round(loadavg()[0]! * 100) / 100,
  };
  consola.info(`through the runner (100 secrets): ${runnerPath.runner_cat_log.ms_p50} ms; cat | cat: ${runnerPath.floor_cat_pipe_cat.ms_p50} ms; ${runnerPath.ratio_p50}x`);
  consola.info(`CPU: runner ${runnerPath.cpu_ms_p50.runner} ms, cat | cat ${runnerPath.cpu_ms_p50.floor} ms; ${runnerPath.cpu_ratio_p50}x`);

  const path = writeBenchResult({
    name: "masker",
    results: { log_mb: Number(mb.toFixed(1)), repeats: REPEATS, load_average_1m_at_start: loadAtStart, baseline, masked, through_runner: runnerPath },
    notes:
      "Throughput of MaskingStream over a job log read from a cat pipe, for N random 32-character secrets " +
      "(each with base64 at 3 alignments, base64url, URL and JSON forms). Baselines from the same run: cat to /dev/null and reading the pipe unmasked. " +
      "through_runner: the compiled runner with 100 secrets (REACTORCIDE_SECRET_VALUES_LIST) running `cat LOG` as its job, its output read through a pipe, " +
      "against sh -c 'cat LOG | cat' read through a pipe the same way, alternating; one unmeasured run to a file checks every secret is masked. " +
      "cpu_ms: user + system CPU of the child and the processes it waited for (the runner and its job's cat; sh and both cats), from wait4, median of the runs. " +
      "dfa_states: trie states made at build (the trie is spelled out lazily as the scan reaches it).",
  });
  consola.success(`wrote ${path}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
