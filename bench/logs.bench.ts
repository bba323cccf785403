/**
 * The log pipeline end to end, through the real API (HTTP), Postgres and the archive, with a
 * worker on the process runtime (the compiled runner on the host):
 * - a job that `cat`s a 50 MB file of log lines: MB/s from submit to success with every line
 *   stored, next to `cat` of the same file into a pipe read to its end (the floor: reading the
 *   bytes at all) and the runner alone running the same command (what the job's own side costs);
 * - what storing it cost: Postgres WAL written while it ran, and the archived log's size, per MB
 *   printed;
 * - serving it: GET /api/v1/jobs/{id}/logs of the 50 MB log, four readers at once, with the
 *   daemon's RSS sampled meanwhile (the API runs in this process).
 */
import { consola } from "consola";
import { chmod, copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";
import { stopTestCluster } from "../daemon/testing/postgres.ts";
import { startTestSystem } from "../daemon/worker/testing/system.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";
import { processTreeCpuMs } from "./lib/cpu.ts";
import { TERMINAL_STATUSES } from "../runner/protocol/index.ts";

const MB = 2 ** 20;
const loadAtStart = loadavg()[0]!;
const TARGET_BYTES = 50 * MB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const round = (n: number) => Math.round(n * 10) / 10;

// A log as builds print it: lines of 20 to 120 characters.
const dir = await mkdtemp(join(tmpdir(), "reactorcide-bench-logs-"));
const file = join(dir, "build.log");
{
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < TARGET_BYTES; i++) {
    const line = `[${String(i).padStart(8, "0")}] compiling module-${i % 977}.ts ${"x".repeat(i % 100)}\n`;
    parts.push(line);
    size += line.length;
  }
  await writeFile(file, parts.join(""));
}
const bytes = Bun.file(file).size;
const lineCount = (await Bun.file(file).text()).split("\n").length - 1;

const binDir = await mkdtemp(join(tmpdir(), "reactorcide-bench-bin-"));
const runnerPath = join(binDir, "reactorcide-runner");
await copyFile(await ensureRunnerBinary(), runnerPath);
await chmod(runnerPath, 0o755);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
const mbPerS = (ms: number) => round(bytes / MB / (ms / 1000));

async function catToPipe(): Promise<number> {
  return timed(async () => {
    const proc = Bun.spawn(["cat", file], { stdout: "pipe" });
    let n = 0;
    for await (const chunk of proc.stdout) n += chunk.byteLength;
    await proc.exited;
    if (n !== bytes) throw new Error(`cat gave ${n} bytes`);
  });
}

async function runnerAlone(): Promise<number> {
  const workspace = await mkdtemp(join(tmpdir(), "reactorcide-bench-direct-"));
  try {
    return await timed(async () => {
      const proc = Bun.spawn([runnerPath, "run"], {
        cwd: tmpdir(),
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", REACTORCIDE_WORKSPACE: workspace, REACTORCIDE_JOB_COMMAND: `cat ${file}` },
        stdout: "pipe",
        stderr: "pipe",
      });
      for await (const _ of proc.stdout);
      if ((await proc.exited) !== 0) throw new Error(`runner failed: ${await new Response(proc.stderr).text()}`);
    });
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

const system = await startTestSystem({ image: "unused-by-the-process-runtime" });
await system.addWorker({ runtime: "process", runnerPath, concurrency: 1, settings: { workspaceOwner: null } });
// Warm up the path (first job compiles queries, opens connections).
await system.waitFor((await system.submit({ name: "warm", command: "echo warm" })).id);
// The embedded Postgres's postmaster: its backends' CPU is what storing costs the database.
const [backend] = await system.api.sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
const postmaster = Number((await Bun.$`ps -o ppid= -p ${backend!.pid}`.text()).trim());

/**
 * One job printing the file: submit to success by the coordinator's own clock (created_at to
 * finished_at, so polling neither adds to it nor rounds it up), then until the log is archived.
 * Its status is read from Postgres every 100 ms: an API poll every few ms would cost the daemon
 * (this process) CPU the shipping then has less of.
 */
async function jobRound() {
  const [walBefore] = await system.api.sql<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
  const cpuBefore = process.cpuUsage();
  const pgBefore = processTreeCpuMs(postmaster);
  const start = performance.now();
  const job = await system.submit({ name: "cat-50mb", command: `cat ${file}`, timeout: 600 });
  for (;;) {
    const [row] = await system.api.sql<{ status: string }[]>`SELECT status FROM jobs WHERE id = ${job.id}`;
    if (TERMINAL_STATUSES.includes(row!.status as never)) break;
    await Bun.sleep(100);
  }
  const done = await system.job(job.id);
  if (done.status !== "success") throw new Error(`job ended ${done.status}: ${done.reason}`);
  const cpu = process.cpuUsage(cpuBefore);
  const postgresCpuMs = processTreeCpuMs(postmaster) - pgBefore;
  // The end is recorded before the log moves to the archive; wait for that move too.
  while ((await system.api.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = ${job.id}`)[0]!.n > 0) await Bun.sleep(20);
  const archivedMs = performance.now() - start;
  const [wal] = await system.api.sql<{ bytes: string }[]>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${walBefore!.lsn}::pg_lsn)::bigint::text AS bytes`;
  const archived = Bun.file(join((system.api.deps.archive as unknown as { location: string }).location, "logs", `${job.id}.log`)).size;
  const left = await system.api.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = ${job.id}`;
  return {
    id: job.id,
    ms: Date.parse(done.finished_at!) - Date.parse(done.created_at),
    archivedMs,
    walBytes: Number(wal!.bytes),
    archived,
    left: left[0]!.n,
    daemonCpuMs: (cpu.user + cpu.system) / 1000,
    postgresCpuMs,
  };
}

// Alternating rounds (floor, runner alone, the job), medians reported: other work on the machine moves each.
const rounds: { catMs: number; runnerMs: number; job: Awaited<ReturnType<typeof jobRound>> }[] = [];
for (let r = 1; r <= ROUNDS; r++) {
  consola.start(`round ${r} of ${ROUNDS}: cat of ${round(bytes / MB)} MB into a pipe; the runner alone running the same cat; a job doing it through the worker, API and Postgres (${lineCount} lines)`);
  const catMs = await catToPipe();
  const runnerMs = await runnerAlone();
  const job = await jobRound();
  rounds.push({ catMs, runnerMs, job });
  consola.info(`cat ${mbPerS(catMs)} MB/s, runner alone ${mbPerS(runnerMs)} MB/s, shipped and stored ${mbPerS(job.ms)} MB/s (load ${loadavg()[0]!.toFixed(1)})`);
}
const median = (xs: number[]) => percentile(xs, 50);
const catMs = median(rounds.map((r) => r.catMs));
const runnerMs = median(rounds.map((r) => r.runnerMs));
const jobMs = median(rounds.map((r) => r.job.ms));
const last = rounds.at(-1)!.job;
const jobId = last.id;

consola.start("serving the 50 MB log: four GET .../logs at once, RSS sampled every 20 ms");
Bun.gc(true);
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
const readers: number[] = [];
let served = 0;
const serveMs = await timed(() =>
  Promise.all(
    [1, 2, 3, 4].map(async () => {
      const ms = await timed(async () => {
        const response = await fetch(`${system.url}/api/v1/jobs/${jobId}/logs`, { headers: { authorization: `Bearer ${system.api.admin}` } });
        let n = 0;
        for await (const chunk of response.body!) n += chunk.byteLength;
        served = n;
      });
      readers.push(ms);
    }),
  ),
);
const healthMs = await timed(() => fetch(`${system.url}/healthz`).then((r) => r.text()));
clearInterval(sampler);

await system.close();
await stopTestCluster();
await Promise.all([dir, binDir].map((d) => rm(d, { recursive: true, force: true })));

const results = {
  load_average_at_start: Math.round(loadAtStart * 10) / 10,
  load_average_at_end: Math.round(loadavg()[0]! * 10) / 10,
  rounds: ROUNDS,
  log_bytes: bytes,
  log_lines: lineCount,
  shipped_and_stored_mb_per_s: mbPerS(jobMs),
  floor_cat_to_pipe_mb_per_s: mbPerS(catMs),
  runner_alone_mb_per_s: mbPerS(runnerMs),
  shipped_vs_runner_alone: Math.round((runnerMs / jobMs) * 100) / 100,
  shipped_vs_cat: Math.round((catMs / jobMs) * 1000) / 1000,
  per_round_mb_per_s: rounds.map((r) => ({ cat: mbPerS(r.catMs), runner_alone: mbPerS(r.runnerMs), shipped_and_stored: mbPerS(r.job.ms) })),
  job_submit_to_success_s: round(jobMs / 1000),
  submit_to_archived_s: round(median(rounds.map((r) => r.job.archivedMs)) / 1000),
  daemon_cpu_ms_per_mb: round(median(rounds.map((r) => r.job.daemonCpuMs)) / (bytes / MB)),
  postgres_cpu_ms_per_mb: round(median(rounds.map((r) => r.job.postgresCpuMs)) / (bytes / MB)),
  postgres_wal_bytes_per_log_byte: Math.round((median(rounds.map((r) => r.job.walBytes)) / bytes) * 1000) / 1000,
  archive_bytes_per_log_byte: Math.round((last.archived / bytes) * 1000) / 1000,
  rows_left_in_postgres_after_archive: last.left,
  serve_4_readers: {
    seconds_each_max: round(Math.max(...readers) / 1000),
    seconds_all: round(serveMs / 1000),
    bytes_each: served,
    rss_before_mb: round(rssBefore / MB),
    rss_peak_mb: round(rssPeak / MB),
    rss_growth_mb: round((rssPeak - rssBefore) / MB),
  },
  healthz_after_serving_ms: round(healthMs),
};
const out = writeBenchResult({
  name: "logs",
  results,
  notes:
    "One job on the process runtime cats a 50 MB file of 20-120 character lines; MB/s is file size over submit-to-success by the coordinator's clock (created_at to finished_at: every line stored), medians of alternating rounds. " +
    "Floors in the same rounds: cat into a pipe read by Bun, and the compiled runner running the same cat directly. CPU: this process (API, worker and the bench together) and the embedded Postgres's processes, per MB of log. WAL is pg_current_wal_lsn() before and after the job. " +
    "Serving: four concurrent GETs of the whole text log; RSS of this process (API, worker and client together) sampled every 20 ms.",
});
consola.success(`${out}\n${JSON.stringify(results, null, 2)}`);
process.exit(0);
