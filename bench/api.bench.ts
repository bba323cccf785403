#!/usr/bin/env bun
/**
 * Job submissions over real HTTP against `reactorcide serve` (its own process, embedded Postgres):
 * requests per second and p50/p99 latency with 1, 16 and 64 concurrent clients, each against
 * the server's floor measured in the same run at the same concurrency: GET /healthz (no token, no
 * database), in alternating rounds (medians), with the CPU the server spends per request. Writes
 * bench/results/api.json. Env: API_BENCH_REQUESTS (per measurement, default 2000), API_BENCH_ROUNDS (3),
 * API_BENCH_CLIENTS (comma-separated concurrencies, default 1,16,64).
 */
import { consola } from "consola";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startServe } from "../daemon/testing/serve-process.ts";
import { processTreeCpuMs } from "./lib/cpu.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const REQUESTS = Number(process.env.API_BENCH_REQUESTS ?? 2000);
const ROUNDS = Number(process.env.API_BENCH_ROUNDS ?? 3);
const CONCURRENCY = (process.env.API_BENCH_CLIENTS ?? "1,16,64").split(",").map(Number);

interface Measured {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** CPU the server used per request (its process and its embedded Postgres): steadier than the rate on a shared machine. */
  server_cpu_ms_per_request: number;
}

let serverPid = 0;

/** `total` requests from `clients` loops side by side; every answer must have `expected` status. */
async function measure(clients: number, total: number, expected: number, request: () => Promise<Response>): Promise<Measured> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = processTreeCpuMs(serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) {
        const t0 = performance.now();
        const response = await request();
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (response.status !== expected) throw new Error(`expected HTTP ${expected}, got ${response.status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = processTreeCpuMs(serverPid) - cpuBefore;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests_per_s: Math.round(latencies.length / seconds),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    server_cpu_ms_per_request: Math.round((cpu / latencies.length) * 1000) / 1000,
  };
}

const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
const base = mkdtempSync(join(tmpdir(), "rc-api-bench-"));
chmodSync(base, 0o711);
const server = await startServe(
  [process.execPath, join(import.meta.dir, "..", "daemon", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0",
    // The API alone: no worker taking the submitted jobs, the embedded queue on a free port.
    "--no-worker", "--corndogs-listen", "127.0.0.1:0"],
  { DATABASE_URL: "", REACTORCIDE_MASTER_KEY: "", NODE_ENV: "production" },
);
serverPid = server.proc.pid;
try {
  const token = server.adminToken!;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const created = await fetch(`${server.url}/api/v1/projects`, { method: "POST", headers, body: JSON.stringify({ name: "bench", default_image: "busybox" }) });
  if (created.status !== 201) throw new Error(`creating the project failed: HTTP ${created.status}`);
  const job = JSON.stringify({ name: "bench-job", command: "echo hello", project: "bench", env: { CI: "true" }, timeout: 600 });
  const submit = () => fetch(`${server.url}/api/v1/jobs`, { method: "POST", headers, body: job });
  const health = () => fetch(`${server.url}/healthz`);

  // Warm up both paths (JIT, connection pool) before measuring.
  await measure(16, 300, 201, submit);
  await measure(16, 300, 200, health);

  const results: Record<string, { submit: Measured; healthz_baseline: Measured; submit_vs_baseline: number; rounds: number }> = {};
  const median = (xs: Measured[]): Measured => {
    const pick = (key: keyof Measured) => percentile(xs.map((x) => x[key]), 50);
    return { requests_per_s: pick("requests_per_s"), p50_ms: pick("p50_ms"), p99_ms: pick("p99_ms"), server_cpu_ms_per_request: pick("server_cpu_ms_per_request") };
  };
  for (const clients of CONCURRENCY) {
    // Alternating rounds, medians: the machine is shared and its load moves.
    const baselines: Measured[] = [];
    const submits: Measured[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      baselines.push(await measure(clients, REQUESTS, 200, health));
      submits.push(await measure(clients, REQUESTS, 201, submit));
    }
    const baseline = median(baselines);
    const submitted = median(submits);
    results[`clients_${clients}`] = {
      submit: submitted,
      healthz_baseline: baseline,
      submit_vs_baseline: Math.round((submitted.requests_per_s / baseline.requests_per_s) * 1000) / 1000,
      rounds: ROUNDS,
    };
    consola.info(
      `${clients} clients: submit ${submitted.requests_per_s}/s (p50 ${submitted.p50_ms} ms, p99 ${submitted.p99_ms} ms); ` +
        `healthz ${baseline.requests_per_s}/s (p50 ${baseline.p50_ms} ms, p99 ${baseline.p99_ms} ms)`,
    );
  }
  const file = writeBenchResult({
    name: "api",
    // The machine is shared: the load when the run began says how far to trust the figures.
    results: { requests_per_measurement: REQUESTS, load_average_1m_at_start: loadAtStart, ...results },
    notes:
      "POST /api/v1/jobs (token check, project role, insert, enqueue) against GET /healthz on the same server in the same run, alternating rounds, medians; " +
      "server_cpu_ms_per_request: user+system CPU of the serve process and its embedded Postgres per request (2 cores: 2000 ms of CPU per second at most); " +
      "server is `bun daemon/main.ts serve --no-worker` with embedded Postgres and its embedded task queue, clients in a separate process on the same machine.",
  });
  consola.success(`wrote ${file}`);
} finally {
  await server.stop();
  rmSync(base, { recursive: true, force: true });
}
