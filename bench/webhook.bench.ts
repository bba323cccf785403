#!/usr/bin/env bun
/**
 * GitHub webhook deliveries over real HTTP against `reactorcide serve` (its own process, embedded
 * Postgres, no worker): how fast a signed push is answered (p50/p99, 1 and 16 senders), next to
 * GET /healthz (no database) and GET /readyz (one SELECT 1) on the same server in the same run,
 * and the time from sending a delivery to the first pending commit status (reactorcide/eval)
 * arriving at the GitHub stand-in. Payloads are GitHub's published push example, signed with
 * @octokit/webhooks-methods. Writes
 * bench/results/webhook.json. Env: WEBHOOK_BENCH_REQUESTS (per measurement, default 400),
 * WEBHOOK_BENCH_ROUNDS (alternating rounds of floor and deliveries, medians; default 3).
 */
import { consola } from "consola";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startServe } from "../daemon/testing/serve-process.ts";
import { startGithubStandIn } from "../daemon/vcs/testing/github-standin.ts";
import { githubHeaders, githubPush } from "../daemon/vcs/testing/payloads.ts";
import { processTreeCpuMs } from "./lib/cpu.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const REQUESTS = Number(process.env.WEBHOOK_BENCH_REQUESTS ?? 400);
const ROUNDS = Number(process.env.WEBHOOK_BENCH_ROUNDS ?? 3);
const STATUS_SAMPLES = 50;
const SECRET = "bench-webhook-secret";
const REPO = { cloneUrl: "https://github.example/bench/app.git", fullName: "bench/app" };

interface Measured {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /**
   * CPU of the server and its embedded Postgres per request while they were sent: for deliveries
   * this includes processing the accepted ones (eval job, status) meanwhile, in the same process.
   */
  server_cpu_ms_per_request: number;
}
let serverPid = 0;
const round = (n: number) => Math.round(n * 100) / 100;

async function measure(clients: number, total: number, expected: number, request: (i: number) => Promise<Response>): Promise<Measured> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = processTreeCpuMs(serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        const response = await request(i);
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (response.status !== expected) throw new Error(`expected HTTP ${expected}, got ${response.status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = processTreeCpuMs(serverPid) - cpuBefore;
  return {
    requests_per_s: Math.round(latencies.length / seconds),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    server_cpu_ms_per_request: Math.round((cpu / latencies.length) * 1000) / 1000,
  };
}

let shaCounter = 0;
const nextSha = () => (++shaCounter).toString(16).padStart(40, "0");

const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
const base = mkdtempSync(join(tmpdir(), "rc-webhook-bench-"));
chmodSync(base, 0o711);
const github = startGithubStandIn({ token: "ghp_bench" });
const server = await startServe(
  [process.execPath, join(import.meta.dir, "..", "daemon", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--no-worker", "--corndogs-listen", "127.0.0.1:0"],
  { DATABASE_URL: "", REACTORCIDE_MASTER_KEY: "", NODE_ENV: "production", REACTORCIDE_PUBLIC_URL: "https://ci.example" },
);
serverPid = server.proc.pid;
try {
  const headers = { authorization: `Bearer ${server.adminToken!}`, "content-type": "application/json" };
  const created = await fetch(`${server.url}/api/v1/projects`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "bench", repo_url: "https://github.example/bench/app", webhook_secret: SECRET, vcs_token: "ghp_bench", vcs_api_url: github.url }),
  });
  if (created.status !== 201) throw new Error(`creating the project failed: HTTP ${created.status}`);

  // Signed ahead of time, so the senders measure the server, not the signing.
  const prepare = async (n: number) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const sha = nextSha();
        const body = JSON.stringify(githubPush(REPO, { ref: "refs/heads/main", before: "f".repeat(40), after: sha }));
        return { sha, body, headers: await githubHeaders(SECRET, "push", body) };
      }),
    );
  const send = (d: { body: string; headers: Record<string, string> }) => fetch(`${server.url}/api/v1/webhooks/github`, { method: "POST", headers: d.headers, body: d.body });
  const health = () => fetch(`${server.url}/healthz`);
  // One database round trip (SELECT 1) through the same server: the floor for anything that touches Postgres.
  const ready = () => fetch(`${server.url}/readyz`);

  const warm = await prepare(200);
  await measure(8, warm.length, 202, (i) => send(warm[i]!));
  await measure(8, 200, 200, health);

  const results: Record<string, unknown> = {};
  for (const clients of [1, 16]) {
    // Alternating rounds, medians: the machine is shared and its load moves.
    const rounds: Record<"answered" | "baseline" | "dbBaseline", Measured[]> = { answered: [], baseline: [], dbBaseline: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const deliveries = await prepare(REQUESTS);
      rounds.baseline.push(await measure(clients, REQUESTS, 200, health));
      rounds.dbBaseline.push(await measure(clients, REQUESTS, 200, ready));
      rounds.answered.push(await measure(clients, REQUESTS, 202, (i) => send(deliveries[i]!)));
    }
    const median = (xs: Measured[]): Measured => {
      const pick = (key: keyof Measured) => percentile(xs.map((x) => x[key]), 50);
      return { requests_per_s: pick("requests_per_s"), p50_ms: pick("p50_ms"), p99_ms: pick("p99_ms"), server_cpu_ms_per_request: pick("server_cpu_ms_per_request") };
    };
    const [answered, baseline, dbBaseline] = [median(rounds.answered), median(rounds.baseline), median(rounds.dbBaseline)];
    results[`clients_${clients}`] = { delivery_answer: answered, healthz_baseline: baseline, readyz_baseline: dbBaseline, rounds: ROUNDS, delivery_p99_ms_per_round: rounds.answered.map((m) => m.p99_ms) };
    consola.info(
      `${clients} senders: delivery p50 ${answered.p50_ms} ms, p99 ${answered.p99_ms} ms (${answered.requests_per_s}/s, server CPU ${answered.server_cpu_ms_per_request} ms each); ` +
        `healthz p50 ${baseline.p50_ms} ms, p99 ${baseline.p99_ms} ms; readyz (SELECT 1) p50 ${dbBaseline.p50_ms} ms, p99 ${dbBaseline.p99_ms} ms`,
    );
  }

  // Let the backlog of the load above drain, then time single deliveries to their first status.
  const drainUntil = Date.now() + 180_000;
  while (Date.now() < drainUntil && github.calls.filter((c) => c.method === "POST").length < REQUESTS * 2 * ROUNDS + 200) await Bun.sleep(200);
  const toStatus: number[] = [];
  for (const d of await prepare(STATUS_SAMPLES)) {
    const t0 = Date.now();
    const r = await send(d);
    if (r.status !== 202) throw new Error(`delivery answered ${r.status}`);
    const deadline = t0 + 30_000;
    while (!github.statuses("bench/app", d.sha).some((s) => s.context === "reactorcide/eval" && s.state === "pending")) {
      if (Date.now() > deadline) throw new Error("no pending status within 30 s");
      await Bun.sleep(2);
    }
    const at = github.calls.find((c) => c.path === `/repos/bench/app/statuses/${d.sha}`)!.at;
    toStatus.push(at - t0);
  }
  const statusFigures = { samples: STATUS_SAMPLES, p50_ms: round(percentile(toStatus, 50)), p99_ms: round(percentile(toStatus, 99)), max_ms: Math.max(...toStatus) };
  consola.info(`delivery to first pending status: p50 ${statusFigures.p50_ms} ms, p99 ${statusFigures.p99_ms} ms`);
  const file = writeBenchResult({
    name: "webhook",
    results: { requests_per_measurement: REQUESTS, load_average_1m_at_start: loadAtStart, load_average_1m_at_end: Math.round(loadavg()[0]! * 100) / 100, ...results, delivery_to_first_pending_status: statusFigures, goals: { answer_p99_ms: 100, first_status_ms: 2000 } },
    notes:
      "POST /api/v1/webhooks/github (signed push, GitHub's example payload: find the project, HMAC check, record the delivery, answer 202) against GET /healthz (no database) and GET /readyz (one SELECT 1) on the same server; " +
      "then one delivery at a time to the reactorcide/eval pending status reaching a GitHub stand-in on 127.0.0.1 (delivery processed into an eval job, status through the Postgres outbox). " +
      "Server: `bun daemon/main.ts serve --no-worker`, embedded Postgres; senders in a separate process on the same machine. " +
      "Alternating rounds (healthz, readyz, deliveries), medians; server_cpu_ms_per_request: user+system CPU of serve and its Postgres per request during the measurement (for deliveries, processing the accepted ones too).",
  });
  consola.success(`wrote ${file}`);
} finally {
  await server.stop();
  github.stop();
  rmSync(base, { recursive: true, force: true });
}
