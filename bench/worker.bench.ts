/**
 * The worker end to end, through the real API (HTTP), the embedded Corndogs server (gRPC) and
 * Postgres:
 * - submit-to-finished latency of a trivial job (`true`) in a container of the runner image,
 *   against `docker run --rm IMAGE true` measured in the same run (the floor: what any container
 *   start costs on this machine);
 * - the same on the kubernetes runtime against the Kubernetes API stand-in (its pods on the same
 *   Docker engine), so the figure is what the runtime adds (Job, Secret, watch, log follow, clean-up)
 *   over a container start here, not what a real cluster's scheduler and kubelet cost;
 * - trivial jobs per second with the process runtime (the compiled runner on the host) and 1, 4
 *   and 16 slots, against the same jobs' runner alone (`reactorcide-runner run` spawned directly,
 *   16 at a time), the floor of that figure.
 * Each figure is measured in alternating rounds with its floor (other people load this machine):
 * medians over the rounds, with the load average, the worker's phase times (spans.ts) and, for
 * throughput, the CPU each job cost in this process (API, queue, worker), its runners and Postgres.
 */
import { consola } from "consola";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";
import { ensureRunnerImage } from "../runner/testing/image.ts";
import { stopTestCluster } from "../daemon/testing/postgres.ts";
import { startTestSystem } from "../daemon/worker/testing/system.ts";
import { startKubeStandin } from "../daemon/testing/kube-standin/server.ts";
import { setSpanSink, type JobSpanTimes } from "../daemon/worker/spans.ts";
import { processTreeCpuMs } from "./lib/cpu.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const ROUNDS = 3;
/** Latency samples per round, each worker job right after a floor run. */
const LATENCY_RUNS = 6;
const KUBE_RUNS = 12;
const THROUGHPUT_JOBS = 48;
const SLOTS = [1, 4, 16];
/** The worker's production default (the test system polls every 200 ms for quick cancel tests). */
const CANCEL_POLL_MS = 1000;

const image = await ensureRunnerImage();
// A private copy: other processes may rebuild dist/reactorcide-runner while the bench runs.
const binDir = await mkdtemp(join(tmpdir(), "reactorcide-bench-bin-"));
const runnerPath = join(binDir, "reactorcide-runner");
await copyFile(await ensureRunnerBinary(), runnerPath);
await chmod(runnerPath, 0o755);
const system = await startTestSystem({ image });
const workerSettings = { cancelPollMs: CANCEL_POLL_MS };

const round = (n: number) => Math.round(n * 10) / 10;
const load = () => Math.round(loadavg()[0]! * 100) / 100;
const median = (values: number[]) => round(percentile(values, 50));
function summary(samples: number[]) {
  return { p50_ms: round(percentile(samples, 50)), p90_ms: round(percentile(samples, 90)), min_ms: round(Math.min(...samples)), runs: samples.length };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Phase spans of the jobs run inside `fn`, as p50 ms per phase in the order they happen. */
async function withSpans<T>(fn: () => Promise<T>): Promise<{ value: T; spans: JobSpanTimes[] }> {
  const spans: JobSpanTimes[] = [];
  setSpanSink((_id, s) => spans.push(s));
  try {
    return { value: await fn(), spans };
  } finally {
    setSpanSink(null);
  }
}
function phaseMedians(all: JobSpanTimes[], skip: string[] = []): Record<string, number> {
  const names = [...new Set(all.flatMap((s) => Object.keys(s)))].filter((n) => !skip.includes(n));
  return Object.fromEntries(names.map((n) => [n, median(all.map((s) => s[n] ?? 0))]));
}

/** CPU ms so far: this process (API, queue, worker), its waited children (runners), its live children (Postgres). */
function cpuNow() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const self = (Number(f[11]) + Number(f[12])) * 10;
  return { self, children: (Number(f[13]) + Number(f[14])) * 10, postgres: processTreeCpuMs() - self };
}

async function trivialJob(): Promise<void> {
  const job = await system.submit({ name: "trivial", command: "true" });
  const done = await system.waitFor(job.id, undefined, 60_000);
  if (done.status !== "success") throw new Error(`trivial job ended ${done.status}: ${done.reason}`);
}

async function floorRun(): Promise<void> {
  const proc = Bun.spawn(["docker", "run", "--rm", image, "true"], { stdout: "ignore", stderr: "ignore" });
  if ((await proc.exited) !== 0) throw new Error("docker run failed");
}

/** Not the floor, a reference: the same container running the runner (`true` as its job), to show the runner's own start's share. */
async function runnerInContainer(): Promise<void> {
  const proc = Bun.spawn(["docker", "run", "--rm", "--env", "REACTORCIDE_JOB_COMMAND=true", "--env", "REACTORCIDE_WORKSPACE=/tmp/job", image, "reactorcide-runner", "run"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await proc.exited) !== 0) throw new Error(`docker run of the runner failed: ${await new Response(proc.stderr).text()}`);
}

// Warm-up: the first container start and the first job pay for caches.
await floorRun();
const dockerWorker = await system.addWorker({ runtime: "docker", concurrency: 1, settings: workerSettings });
await trivialJob();

consola.start(`submit → success of \`true\` (docker runtime) alternating with docker run --rm ${image} true, ${ROUNDS} × ${LATENCY_RUNS}`);
const floor: number[] = [];
const latency: number[] = [];
const withRunner: number[] = [];
const latencyRounds: { p50_ms: number; floor_p50_ms: number; ratio: number; load: number }[] = [];
const { spans: dockerSpans } = await withSpans(async () => {
  for (let r = 0; r < ROUNDS; r++) {
    const f: number[] = [];
    const l: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      f.push(await timed(floorRun));
      l.push(await timed(trivialJob));
      withRunner.push(await timed(runnerInContainer));
    }
    floor.push(...f);
    latency.push(...l);
    latencyRounds.push({ p50_ms: median(l), floor_p50_ms: median(f), ratio: Math.round((percentile(l, 50) / percentile(f, 50)) * 100) / 100, load: load() });
  }
});
await dockerWorker.stop();

consola.start(`submit → success of \`true\` through the worker (kubernetes runtime, Kubernetes API stand-in), ${KUBE_RUNS} times`);
const standin = await startKubeStandin();
await standin.apply([
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "reactorcide-jobs" } },
  { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reactorcide-job", namespace: "reactorcide-jobs" } },
]);
const kubeWorker = await system.addWorker({
  runtime: "kubernetes",
  concurrency: 1,
  settings: workerSettings,
  kubernetes: {
    kubeConfig: standin.kubeConfig("reactorcide-jobs"), namespace: "reactorcide-jobs", serviceAccount: "reactorcide-job", nodeSelector: {}, tolerations: [],
    workspaceSize: "1Gi", tmpSize: "64Mi", ttlSecondsAfterFinished: 300, worker: "bench", startTimeoutSeconds: 60,
  },
});
const kubeLatency: number[] = [];
const kubeFloor: number[] = [];
for (let i = 0; i < KUBE_RUNS + 1; i++) {
  const f = await timed(floorRun);
  const ms = await timed(trivialJob);
  if (i > 0) {
    kubeLatency.push(ms);
    kubeFloor.push(f);
  }
}
await kubeWorker.stop();
await standin.close();

/** The floor of throughput: the runner alone, 16 at a time, no coordinator, queue or worker. */
async function runnerAlone(): Promise<number> {
  return timed(async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < THROUGHPUT_JOBS) {
          next++;
          const workspace = await mkdtemp(join(tmpdir(), "reactorcide-bench-direct-"));
          const proc = Bun.spawn([runnerPath, "run"], {
            cwd: tmpdir(),
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", REACTORCIDE_WORKSPACE: workspace, REACTORCIDE_JOB_COMMAND: "true" },
            stdout: "ignore",
            stderr: "pipe",
          });
          if ((await proc.exited) !== 0) throw new Error(`runner failed: ${await new Response(proc.stderr).text()}`);
          await rm(workspace, { recursive: true, force: true });
        }
      }),
    );
  });
}

/** HTTP requests the API answered so far, by method and route (its request-duration histogram's counts). */
async function requestsByRoute(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const v of (await system.api.metrics.httpDuration.get()).values) {
    if (!v.metricName?.endsWith("_count")) continue;
    const key = `${v.labels.method} ${v.labels.route}`;
    counts.set(key, (counts.get(key) ?? 0) + v.value);
  }
  return counts;
}

// Statements sent to Postgres (the API's and the embedded Corndogs server's pool): postgres.js's debug hook.
let statements = 0;
system.api.sql.options.debug = () => void statements++;

type Throughput = {
  jobs_per_s: number;
  seconds: number;
  cpu_ms_per_job: { daemon: number; runners: number; postgres: number };
  http_requests_per_job: Record<string, number>;
  sql_statements_per_job: number;
};
async function throughputRun(slots: number): Promise<Throughput> {
  const worker = await system.addWorker({ runtime: "process", runnerPath, concurrency: slots, settings: workerSettings });
  const requestsBefore = await requestsByRoute();
  const statementsBefore = statements;
  const before = cpuNow();
  const ms = await timed(async () => {
    const jobs = await Promise.all(Array.from({ length: THROUGHPUT_JOBS }, () => system.submit({ name: "trivial", command: "true" })));
    // Every 50 ms, not the system's 25: the polling is this bench's load on the API, not the worker's.
    for (const job of jobs) {
      for (;;) {
        const now = await system.job(job.id);
        if (now.status === "success") break;
        if (now.status !== "queued" && now.status !== "running") throw new Error(`job ended ${now.status}: ${now.reason}`);
        await Bun.sleep(50);
      }
    }
  });
  const after = cpuNow();
  const statementsAfter = statements;
  const requestsAfter = await requestsByRoute();
  await worker.stop();
  const per = (a: number, b: number) => round((b - a) / THROUGHPUT_JOBS);
  const perJob = (a: number, b: number) => Math.round(((b - a) / THROUGHPUT_JOBS) * 100) / 100;
  return {
    jobs_per_s: round(THROUGHPUT_JOBS / (ms / 1000)),
    seconds: round(ms / 1000),
    cpu_ms_per_job: { daemon: per(before.self, after.self), runners: per(before.children, after.children), postgres: per(before.postgres, after.postgres) },
    http_requests_per_job: Object.fromEntries(
      [...requestsAfter].map(([route, n]) => [route, perJob(requestsBefore.get(route) ?? 0, n)] as const).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]),
    ),
    sql_statements_per_job: perJob(statementsBefore, statementsAfter),
  };
}

consola.start(`${THROUGHPUT_JOBS} trivial jobs, process runtime, ${SLOTS.join("/")} slots, alternating with the runner alone 16 at a time, ${ROUNDS} rounds`);
const direct: number[] = [];
const directCpu: number[] = [];
const throughputRounds: Record<string, Throughput[]> = Object.fromEntries(SLOTS.map((s) => [`slots_${s}`, []]));
const roundLoads: number[] = [];
const throughputSpans: Record<string, JobSpanTimes[]> = Object.fromEntries(SLOTS.map((s) => [`slots_${s}`, []]));
for (let r = 0; r < ROUNDS; r++) {
  const before = cpuNow().children;
  direct.push(THROUGHPUT_JOBS / ((await runnerAlone()) / 1000));
  directCpu.push((cpuNow().children - before) / THROUGHPUT_JOBS);
  for (const slots of SLOTS) {
    const { value, spans } = await withSpans(() => throughputRun(slots));
    throughputRounds[`slots_${slots}`]!.push(value);
    throughputSpans[`slots_${slots}`]!.push(...spans);
  }
  roundLoads.push(load());
}
const directMedian = percentile(direct, 50);
const throughput = Object.fromEntries(
  SLOTS.map((slots) => {
    const runs = throughputRounds[`slots_${slots}`]!;
    const rate = percentile(runs.map((t) => t.jobs_per_s), 50);
    return [
      `slots_${slots}`,
      {
        jobs_per_s: round(rate),
        jobs_per_s_rounds: runs.map((t) => t.jobs_per_s),
        of_runner_alone: Math.round((rate / directMedian) * 100) / 100,
        jobs: THROUGHPUT_JOBS,
        cpu_ms_per_job: {
          daemon: median(runs.map((t) => t.cpu_ms_per_job.daemon)),
          runners: median(runs.map((t) => t.cpu_ms_per_job.runners)),
          postgres: median(runs.map((t) => t.cpu_ms_per_job.postgres)),
        },
        // Round trips are the same whatever the load: the last round's.
        http_requests_per_job: runs.at(-1)!.http_requests_per_job,
        sql_statements_per_job: median(runs.map((t) => t.sql_statements_per_job)),
        phases_p50_ms: phaseMedians(throughputSpans[`slots_${slots}`]!),
      },
    ];
  }),
);

await system.close();
await stopTestCluster();
await rm(binDir, { recursive: true, force: true });

const results = {
  latency_trivial_job_docker: summary(latency),
  floor_docker_run_true: summary(floor),
  latency_over_floor_p50: Math.round((percentile(latency, 50) / percentile(floor, 50)) * 100) / 100,
  overhead_over_floor_p50_ms: round(percentile(latency, 50) - percentile(floor, 50)),
  latency_rounds: latencyRounds,
  reference_docker_run_runner_true: summary(withRunner),
  // "claim" of a latency job is the idle slot waiting for the submit, not a cost.
  docker_job_phases_p50_ms: phaseMedians(dockerSpans, ["claim"]),
  latency_trivial_job_kubernetes_standin: summary(kubeLatency),
  kubernetes_floor_same_rounds: summary(kubeFloor),
  kubernetes_overhead_over_floor_p50_ms: round(percentile(kubeLatency, 50) - percentile(kubeFloor, 50)),
  throughput_process_runtime: throughput,
  floor_runner_direct_16_parallel: { jobs_per_s: round(directMedian), jobs_per_s_rounds: direct.map(round), jobs: THROUGHPUT_JOBS, cpu_ms_per_job: median(directCpu) },
  load_average: { latency_rounds: latencyRounds.map((r) => r.load), throughput_rounds: roundLoads },
};
const file = writeBenchResult({
  name: "worker",
  results,
  notes:
    `Latency: HTTP submit until GET shows success (polled every 25 ms), one docker slot, runner image, each job right after a floor run (docker run --rm IMAGE true), ${ROUNDS} rounds of ${LATENCY_RUNS}; p50 over all. ` +
    "reference_docker_run_runner_true: the same image running reactorcide-runner run with true as its job (no worker), to show the runner's start inside the container. " +
    "Kubernetes: one slot on the kubernetes runtime against the Kubernetes API stand-in, whose kubelet runs pods on the same Docker engine (not a real cluster), alternating with the same floor. " +
    `Throughput: ${THROUGHPUT_JOBS} jobs submitted at once, each polled every 50 ms until done, process runtime with the compiled runner; floor is the runner spawned directly 16 at a time; ${ROUNDS} rounds alternating floor and 1/4/16 slots, medians. ` +
    "cpu_ms_per_job: this process (API, embedded queue, worker), the runners it waited for, the embedded Postgres. " +
    "http_requests_per_job: requests the API answered, by route (the worker's and this bench's submit and polls); sql_statements_per_job: statements the API and Corndogs sent to Postgres. Phases: the worker's spans (daemon/worker/spans.ts), p50 per phase. " +
    `Workers poll for a cancel every ${CANCEL_POLL_MS} ms (the production default).`,
});
consola.success(`${file}\n${JSON.stringify(results, null, 2)}`);
process.exit(0);
