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
 */
import { consola } from "consola";
import { chmod, copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";
import { ensureRunnerImage } from "../runner/testing/image.ts";
import { stopTestCluster } from "../daemon/testing/postgres.ts";
import { startTestSystem } from "../daemon/worker/testing/system.ts";
import { startKubeStandin } from "../daemon/testing/kube-standin/server.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const LATENCY_RUNS = 15;
const THROUGHPUT_JOBS = 48;
const SLOTS = [1, 4, 16];

const image = await ensureRunnerImage();
// A private copy: other processes may rebuild dist/reactorcide-runner while the bench runs.
const runnerPath = join(await mkdtemp(join(tmpdir(), "reactorcide-bench-bin-")), "reactorcide-runner");
await copyFile(await ensureRunnerBinary(), runnerPath);
await chmod(runnerPath, 0o755);
const system = await startTestSystem({ image });

function summary(samples: number[]) {
  return { p50_ms: round(percentile(samples, 50)), p90_ms: round(percentile(samples, 90)), min_ms: round(Math.min(...samples)), runs: samples.length };
}
const round = (n: number) => Math.round(n * 10) / 10;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

// Floor: a bare container start and stop.
consola.start(`docker run --rm ${image} true, ${LATENCY_RUNS} times`);
const floor: number[] = [];
for (let i = 0; i < LATENCY_RUNS + 1; i++) {
  const ms = await timed(async () => {
    const proc = Bun.spawn(["docker", "run", "--rm", image, "true"], { stdout: "ignore", stderr: "ignore" });
    if ((await proc.exited) !== 0) throw new Error("docker run failed");
  });
  if (i > 0) floor.push(ms); // the first run warms caches
}

consola.start(`submit → success of \`true\` through the worker (docker runtime), ${LATENCY_RUNS} times`);
const dockerWorker = await system.addWorker({ runtime: "docker", concurrency: 1 });
const latency: number[] = [];
for (let i = 0; i < LATENCY_RUNS + 1; i++) {
  const ms = await timed(async () => {
    const job = await system.submit({ name: "trivial", command: "true" });
    const done = await system.waitFor(job.id, undefined, 60_000);
    if (done.status !== "success") throw new Error(`trivial job ended ${done.status}: ${done.reason}`);
  });
  if (i > 0) latency.push(ms);
}
await dockerWorker.stop();

consola.start(`submit → success of \`true\` through the worker (kubernetes runtime, Kubernetes API stand-in), ${LATENCY_RUNS} times`);
const standin = await startKubeStandin();
await standin.apply([
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "reactorcide-jobs" } },
  { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reactorcide-job", namespace: "reactorcide-jobs" } },
]);
const kubeWorker = await system.addWorker({
  runtime: "kubernetes",
  concurrency: 1,
  kubernetes: {
    kubeConfig: standin.kubeConfig("reactorcide-jobs"), namespace: "reactorcide-jobs", serviceAccount: "reactorcide-job", nodeSelector: {}, tolerations: [],
    workspaceSize: "1Gi", tmpSize: "64Mi", ttlSecondsAfterFinished: 300, worker: "bench", startTimeoutSeconds: 60,
  },
});
const kubeLatency: number[] = [];
for (let i = 0; i < LATENCY_RUNS + 1; i++) {
  const ms = await timed(async () => {
    const job = await system.submit({ name: "trivial", command: "true" });
    const done = await system.waitFor(job.id, undefined, 60_000);
    if (done.status !== "success") throw new Error(`trivial job ended ${done.status}: ${done.reason}`);
  });
  if (i > 0) kubeLatency.push(ms);
}
await kubeWorker.stop();
await standin.close();

// Floor of throughput: the runner alone, 16 at a time, no coordinator, queue or worker.
consola.start(`${THROUGHPUT_JOBS} × reactorcide-runner run (true) directly, 16 at a time`);
const direct = await timed(async () => {
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
      }
    }),
  );
});

const throughput: Record<string, { jobs_per_s: number; jobs: number; seconds: number }> = {};
for (const slots of SLOTS) {
  consola.start(`${THROUGHPUT_JOBS} trivial jobs, process runtime, ${slots} slot(s)`);
  const worker = await system.addWorker({ runtime: "process", runnerPath, concurrency: slots });
  const ms = await timed(async () => {
    const jobs = await Promise.all(Array.from({ length: THROUGHPUT_JOBS }, () => system.submit({ name: "trivial", command: "true" })));
    for (const job of jobs) {
      const done = await system.waitFor(job.id, undefined, 300_000);
      if (done.status !== "success") throw new Error(`job ended ${done.status}: ${done.reason}`);
    }
  });
  await worker.stop();
  throughput[`slots_${slots}`] = { jobs_per_s: round(THROUGHPUT_JOBS / (ms / 1000)), jobs: THROUGHPUT_JOBS, seconds: round(ms / 1000) };
}

await system.close();
await stopTestCluster();

const results = {
  latency_trivial_job_docker: summary(latency),
  floor_docker_run_true: summary(floor),
  overhead_over_floor_p50_ms: round(percentile(latency, 50) - percentile(floor, 50)),
  latency_trivial_job_kubernetes_standin: summary(kubeLatency),
  kubernetes_overhead_over_floor_p50_ms: round(percentile(kubeLatency, 50) - percentile(floor, 50)),
  throughput_process_runtime: throughput,
  floor_runner_direct_16_parallel: { jobs_per_s: round(THROUGHPUT_JOBS / (direct / 1000)), jobs: THROUGHPUT_JOBS, seconds: round(direct / 1000) },
};
const file = writeBenchResult({
  name: "worker",
  results,
  notes:
    "Latency: HTTP submit until GET shows success (polled every 25 ms), one docker slot, runner image; floor is docker run --rm IMAGE true. " +
    "Kubernetes: one slot on the kubernetes runtime against the Kubernetes API stand-in, whose kubelet runs pods on the same Docker engine (not a real cluster). " +
    "Throughput: all jobs submitted at once, process runtime with the compiled runner; floor is the runner spawned directly 16 at a time.",
});
consola.success(`${file}\n${JSON.stringify(results, null, 2)}`);
process.exit(0);
