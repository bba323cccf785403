#!/usr/bin/env bun
/**
 * Corndogs (our embedded gRPC server on Postgres) against pg-boss on the same embedded Postgres
 * cluster, doing the same work: submit rate, claim+complete rate with 1 and 8 consumers, and
 * pick-up latency of an idle consumer (p50, p99). Writes bench/results/queue.json.
 * Env: QUEUE_BENCH_TASKS (per round, default 2000), QUEUE_BENCH_PICKUPS (default 60),
 * QUEUE_BENCH_ROUNDS (default 3; rates are the median over rounds).
 */
import { consola } from "consola";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import PgBoss from "pg-boss";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../daemon/db/embedded.ts";
import { CorndogsClient, type TaskStream, type WakeSource } from "../daemon/corndogs/client.ts";
import { startCorndogsServer } from "../daemon/corndogs/server.ts";
import { processTreeCpuMs } from "./lib/cpu.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const TASKS = Number(process.env.QUEUE_BENCH_TASKS ?? 2000);
const PICKUPS = Number(process.env.QUEUE_BENCH_PICKUPS ?? 60);
const ROUNDS = Number(process.env.QUEUE_BENCH_ROUNDS ?? 3);
const WARMUP = 500;
const IN_FLIGHT = 32;
const POOL = 10;

/**
 * The operations both systems perform, one task at a time (no batching on either side). A
 * consumer asks for its next task while the completion of the last is in flight, as pg-boss's
 * own work() loop does (it does not await complete() before the next fetch).
 */
interface QueueUnderTest {
  submit(i: number): Promise<void>;
  /** One consumer's loop: claims and completes tasks while `take()` says one more; returns how many. */
  consume(consumer: number, take: () => boolean): Promise<number>;
  /** Claims and completes one task; false when the queue was empty. */
  claimAndComplete(consumer: number): Promise<boolean>;
  /** Resolves with the claim time (performance.now()) of the next task, waiting as its consumers do. */
  pickUp(signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

async function runConcurrently(total: number, workers: number, op: (worker: number, i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (next < total) await op(w, next++);
    }),
  );
}

/** Runs `count` operations and returns them per second. */
async function rate(count: number, run: () => Promise<number>) {
  const started = performance.now();
  const done = await run();
  if (done !== count) throw new Error(`expected ${count} operations, got ${done}`);
  return (count / (performance.now() - started)) * 1000;
}

/** Claims and completes `count` tasks with `consumers` loops side by side. */
async function drain(q: QueueUnderTest, consumers: number, count: number) {
  let budget = count;
  const take = () => budget-- > 0;
  const done = await Promise.all(Array.from({ length: consumers }, (_, c) => q.consume(c, take)));
  return done.reduce((a, b) => a + b, 0);
}

/** Submits `samples` tasks at random gaps while one consumer waits; latency = claimed − submit started. */
async function pickUpLatencies(q: QueueUnderTest, samples: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const abort = new AbortController();
    const claimed = q.pickUp(abort.signal);
    await Bun.sleep(20 + Math.random() * 380);
    const submitted = performance.now();
    await q.submit(i);
    latencies.push((await claimed) - submitted);
  }
  return latencies;
}

interface Samples {
  submit: number[];
  one: number[];
  eight: number[];
  /** CPU ms per task claimed and completed by 8 consumers: this process, the Corndogs server process and Postgres. */
  eightCpu: number[];
  /** The same split by side: the consumers (this process), the Corndogs server process, Postgres. */
  eightCpuClient: number[];
  eightCpuServer: number[];
  eightCpuPostgres: number[];
  pickup: number[];
}
const samples = (): Samples => ({ submit: [], one: [], eight: [], eightCpu: [], eightCpuClient: [], eightCpuServer: [], eightCpuPostgres: [], pickup: [] });

/** CPU ms so far of this process alone, of the Corndogs server process's tree, and of Postgres's. */
interface Sides {
  serverPid?: number;
  postgresPid: number;
}
function cpuBySide(sides: Sides) {
  const own = process.cpuUsage();
  return { client: (own.user + own.system) / 1000, server: sides.serverPid ? processTreeCpuMs(sides.serverPid) : 0, postgres: processTreeCpuMs(sides.postgresPid) };
}

/** One round for one system: submit TASKS, drain a quarter with 1 consumer, the rest with 8, then pick-ups. */
async function round(name: string, q: QueueUnderTest, into: Samples, sides: Sides) {
  into.submit.push(await rate(TASKS, async () => (await runConcurrently(TASKS, IN_FLIGHT, (_, i) => q.submit(i)), TASKS)));
  const quarter = Math.floor(TASKS / 4);
  into.one.push(await rate(quarter, () => drain(q, 1, quarter)));
  const cpuBefore = processTreeCpuMs();
  const sidesBefore = cpuBySide(sides);
  into.eight.push(await rate(TASKS - quarter, () => drain(q, 8, TASKS - quarter)));
  into.eightCpu.push((processTreeCpuMs() - cpuBefore) / (TASKS - quarter));
  const sidesAfter = cpuBySide(sides);
  into.eightCpuClient.push((sidesAfter.client - sidesBefore.client) / (TASKS - quarter));
  into.eightCpuServer.push((sidesAfter.server - sidesBefore.server) / (TASKS - quarter));
  into.eightCpuPostgres.push((sidesAfter.postgres - sidesBefore.postgres) / (TASKS - quarter));
  if (await q.claimAndComplete(0)) throw new Error(`${name}: queue not empty after the drains`);
  into.pickup.push(...(await pickUpLatencies(q, Math.ceil(PICKUPS / ROUNDS))));
}

const median = (xs: number[]) => percentile(xs, 50);
function summary(s: Samples) {
  return {
    submit_per_s: Math.round(median(s.submit)),
    claim_complete_per_s_1_consumer: Math.round(median(s.one)),
    claim_complete_per_s_8_consumers: Math.round(median(s.eight)),
    claim_complete_8_cpu_ms_per_task: Number(median(s.eightCpu).toFixed(3)),
    claim_complete_8_cpu_ms_per_task_by_side: {
      consumers: Number(median(s.eightCpuClient).toFixed(3)),
      ...(s.eightCpuServer.some((x) => x > 0) ? { server: Number(median(s.eightCpuServer).toFixed(3)) } : {}),
      postgres: Number(median(s.eightCpuPostgres).toFixed(3)),
    },
    // What the CPU alone allows on this machine's cores if nothing else ran: cores / CPU per task.
    claim_complete_8_cpu_bound_per_s: Math.round((cpus().length * 1000) / median(s.eightCpu)),
    pickup_p50_ms: Number(percentile(s.pickup, 50).toFixed(2)),
    pickup_p99_ms: Number(percentile(s.pickup, 99).toFixed(2)),
  };
}

/** How a waiting Corndogs consumer learns of a new task (besides its poll timer). */
type CorndogsWake = { serverWake: boolean; wake?: WakeSource };

/**
 * `stream`: each consumer keeps a StreamTasks stream open (our addition to the protocol), one task
 * of credit at a time, completing on it; `unary`: GetNextTask and CompleteTask, as a client of a
 * real Corndogs does.
 */
function corndogs(address: string, how: CorndogsWake, mode: "stream" | "unary" = "stream"): QueueUnderTest {
  // One channel per consumer, as separate worker processes would have.
  const clients = Array.from({ length: 9 }, () => new CorndogsClient(address));
  const producer = clients[8]!;
  const claim = { queue: "bench", overrideTimeout: 300 };
  const streams = new Map<number, TaskStream>();
  const streamOf = (c: number) => streams.get(c) ?? streams.set(c, clients[c]!.openTaskStream(claim)).get(c)!;
  return {
    async submit(i) {
      await producer.submitTask({ queue: "bench", payload: JSON.stringify({ job_id: i }) });
    },
    async consume(c, take) {
      const client = clients[c]!;
      let done = 0;
      if (mode === "stream") {
        const stream = streamOf(c);
        let task = take() ? await stream.next() : undefined;
        for (; task; done++) {
          const [, next] = await Promise.all([stream.complete(task), take() ? stream.next() : undefined]);
          task = next;
        }
        return done;
      }
      let task = take() ? await client.getNextTask(claim) : undefined;
      for (; task; done++) {
        const [, next] = await Promise.all([client.completeTask(task), take() ? client.getNextTask(claim) : undefined]);
        task = next;
      }
      return done;
    },
    async claimAndComplete(c) {
      const client = clients[c]!;
      const task = await client.getNextTask({ queue: "bench", overrideTimeout: 300 });
      if (!task) return false;
      await client.completeTask({ uuid: task.uuid, currentState: task.currentState });
      return true;
    },
    async pickUp(signal) {
      const task = await clients[0]!.waitForTask({ queue: "bench", overrideTimeout: 300 }, { signal, ...how });
      const at = performance.now();
      await clients[0]!.completeTask({ uuid: task.uuid, currentState: task.currentState });
      return at;
    },
    async close() {
      await Promise.all([...streams.values()].map((s) => s.close()));
      for (const c of clients) c.close();
    },
  };
}

async function pgBoss(url: string, mode: "work" | "poll"): Promise<QueueUnderTest & { boss: PgBoss }> {
  const boss = new PgBoss({ connectionString: url, max: POOL, schedule: false, supervise: false });
  boss.on("error", (error) => consola.warn("pg-boss", error));
  await boss.start();
  await boss.createQueue("bench");
  return {
    boss,
    async submit(i) {
      await boss.send("bench", { job_id: i });
    },
    async consume(_c, take) {
      let done = 0;
      let [job] = take() ? await boss.fetch<{ job_id: number }>("bench") : [];
      for (; job; done++) {
        const [, next] = await Promise.all([boss.complete("bench", job.id), take() ? boss.fetch<{ job_id: number }>("bench") : []]);
        [job] = next;
      }
      return done;
    },
    async claimAndComplete() {
      const [job] = await boss.fetch<{ job_id: number }>("bench");
      if (!job) return false;
      await boss.complete("bench", job.id);
      return true;
    },
    async pickUp(signal) {
      if (mode === "work") {
        // pg-boss's own consumer: work() polls, at most every 0.5 s in v10.
        return await new Promise<number>((resolve) => {
          let at = 0;
          let worker: Promise<string> | undefined;
          worker = boss.work("bench", { pollingIntervalSeconds: 0.5 }, async () => {
            at = performance.now();
            resolve(at);
            void worker?.then((id) => boss.offWork({ id }));
          });
          signal.addEventListener("abort", () => void worker?.then((id) => boss.offWork({ id })));
        });
      }
      // The same adaptive poll as our client (5 ms doubling to 500 ms).
      for (let delay = 5; ; delay = Math.min(500, delay * 2)) {
        const [job] = await boss.fetch("bench");
        if (job) {
          const at = performance.now();
          await boss.complete("bench", job.id);
          return at;
        }
        await Bun.sleep(delay);
      }
    },
    async close() {
      await boss.stop({ graceful: false, wait: true });
    },
  };
}

/**
 * The floor: what this Postgres commits per second when nothing but commits is asked of it, one
 * single-row UPDATE per transaction from 8 connections (each claim+complete needs at least one
 * commit for the claim and one for the complete, unless grouped with others').
 */
async function commitFloor(url: string, ms = 2000): Promise<{ eight: number; one: number }> {
  const sql = postgres(url, { max: 8, onnotice: () => {} });
  try {
    await sql`CREATE TABLE IF NOT EXISTS floor (id int PRIMARY KEY, n bigint NOT NULL)`;
    await sql`INSERT INTO floor SELECT g, 0 FROM generate_series(0, 7) g ON CONFLICT DO NOTHING`;
    const loop = async (connections: number) => {
      let n = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: connections }, async (_, c) => {
          while (performance.now() - started < ms) {
            await sql`UPDATE floor SET n = n + 1 WHERE id = ${c}`;
            n++;
          }
        }),
      );
      return (n / (performance.now() - started)) * 1000;
    };
    return { eight: await loop(8), one: await loop(1) };
  } finally {
    await sql.end();
  }
}

/** The Corndogs server in its own process, as deployed (bench/lib/corndogs-server.ts). */
async function startServerProcess(databaseUrl: string) {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "lib/corndogs-server.ts"), databaseUrl, String(POOL)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the Corndogs server process exited (${await child.exited}) before listening`);
    text += new TextDecoder().decode(value);
  }
  return {
    address: text.split("\n")[0]!.trim(),
    pid: child.pid,
    async close() {
      child.stdin.end();
      await child.exited;
    },
  };
}

const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
const dir = mkdtempSync(join(tmpdir(), "queue-bench-"));
const cluster = await startEmbeddedPostgres({ dir });
try {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  for (const db of ["corndogs", "pgboss", "pgboss_work", "floor"]) await admin.unsafe(`CREATE DATABASE ${db}`);
  await admin.end();

  const server = await startServerProcess(cluster.urlFor("corndogs"));
  // A remote worker's client as shipped: polls, and polls at once when the server's TaskEvents stream says a task arrived.
  const ours = corndogs(server.address, { serverWake: true });
  // The same server through GetNextTask and CompleteTask only, as a client of a real Corndogs.
  const oursUnary = corndogs(server.address, { serverWake: true }, "unary");
  const boss = await pgBoss(cluster.urlFor("pgboss"), "poll");
  const oursSamples = samples();
  const oursUnarySamples = samples();
  const bossSamples = samples();
  const floorEight: number[] = [];
  const floorOne: number[] = [];
  // The embedded Postgres's postmaster: its tree holds every backend.
  const postgresPid = Number(readFileSync(join(dir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
  // An unmeasured warm-up for both (JIT, prepared statements, connections): the figures are steady state.
  consola.start("warm-up (not measured)");
  for (const q of [ours, oursUnary, boss]) {
    await runConcurrently(WARMUP, IN_FLIGHT, (_, i) => q.submit(i));
    await drain(q, 8, WARMUP);
  }
  // Rounds alternate which system goes first, so a busy machine's noise falls on both alike.
  for (let r = 0; r < ROUNDS; r++) {
    const systems = ["corndogs", "pg-boss", "corndogs-unary", "floor"] as const;
    const order = r % 2 === 0 ? systems : ([...systems].reverse() as (typeof systems)[number][]);
    for (const name of order) {
      consola.start(`round ${r + 1}/${ROUNDS}: ${name}`);
      if (name === "corndogs") await round(name, ours, oursSamples, { serverPid: server.pid, postgresPid });
      else if (name === "corndogs-unary") await round(name, oursUnary, oursUnarySamples, { serverPid: server.pid, postgresPid });
      else if (name === "pg-boss") await round(name, boss, bossSamples, { postgresPid });
      else {
        const floor = await commitFloor(cluster.urlFor("floor"));
        floorEight.push(floor.eight);
        floorOne.push(floor.one);
      }
    }
  }
  const loadAfterRounds = Math.round(loadavg()[0]! * 100) / 100;
  const corndogsResult = summary(oursSamples);
  const corndogsUnaryResult = summary(oursUnarySamples);
  const bossResult = summary(bossSamples);
  consola.start("corndogs: pick-up latency of a consumer in the server's process, woken directly");
  const embedded = await startCorndogsServer({ databaseUrl: cluster.urlFor("corndogs"), listen: "127.0.0.1:0", poolSize: POOL });
  const colocated = corndogs(embedded.address, { serverWake: false, wake: embedded.onTask });
  const wokenLatencies = await pickUpLatencies(colocated, Math.ceil(PICKUPS / 2));
  await colocated.close();
  await embedded.close();
  consola.start("corndogs: pick-up latency polling only (no wake-ups, the schedule pg-boss's fetch loop gets)");
  const pollOnly = corndogs(server.address, { serverWake: false });
  const pollLatencies = await pickUpLatencies(pollOnly, Math.ceil(PICKUPS / 2));
  await pollOnly.close();
  await ours.close();
  await oursUnary.close();
  await server.close();
  await boss.close();
  consola.start("pg-boss: pick-up latency with work()");
  const bossWork = await pgBoss(cluster.urlFor("pgboss_work"), "work");
  const bossWorkLatencies = await pickUpLatencies(bossWork, Math.ceil(PICKUPS / 2));
  await bossWork.close();

  const results = {
    load_average_1m_at_start: loadAtStart,
    load_average_1m_after_rounds: loadAfterRounds,
    floor_postgres_commits_per_s_8_connections: Math.round(median(floorEight)),
    floor_postgres_commits_per_s_1_connection: Math.round(median(floorOne)),
    corndogs: {
      ...corndogsResult,
      pickup_in_process_notify_p50_ms: Number(percentile(wokenLatencies, 50).toFixed(2)),
      pickup_in_process_notify_p99_ms: Number(percentile(wokenLatencies, 99).toFixed(2)),
      pickup_poll_only_p50_ms: Number(percentile(pollLatencies, 50).toFixed(2)),
      pickup_poll_only_p99_ms: Number(percentile(pollLatencies, 99).toFixed(2)),
    },
    corndogs_unary: corndogsUnaryResult,
    pg_boss: {
      ...bossResult,
      pickup_work_p50_ms: Number(percentile(bossWorkLatencies, 50).toFixed(2)),
      pickup_work_p99_ms: Number(percentile(bossWorkLatencies, 99).toFixed(2)),
    },
    ratio_corndogs_over_pg_boss: {
      submit: Number((corndogsResult.submit_per_s / bossResult.submit_per_s).toFixed(2)),
      claim_complete_1: Number((corndogsResult.claim_complete_per_s_1_consumer / bossResult.claim_complete_per_s_1_consumer).toFixed(2)),
      claim_complete_8: Number((corndogsResult.claim_complete_per_s_8_consumers / bossResult.claim_complete_per_s_8_consumers).toFixed(2)),
      claim_complete_8_unary: Number((corndogsUnaryResult.claim_complete_per_s_8_consumers / bossResult.claim_complete_per_s_8_consumers).toFixed(2)),
      // CPU per task: below 1 means Corndogs costs less.
      claim_complete_8_cpu: Number((corndogsResult.claim_complete_8_cpu_ms_per_task / bossResult.claim_complete_8_cpu_ms_per_task).toFixed(2)),
      // The rate ratio on an otherwise idle machine if both were bound by CPU alone.
      claim_complete_8_cpu_bound: Number((corndogsResult.claim_complete_8_cpu_bound_per_s / bossResult.claim_complete_8_cpu_bound_per_s).toFixed(2)),
      // Latencies: below 1 means Corndogs is faster.
      pickup_p50: Number((corndogsResult.pickup_p50_ms / bossResult.pickup_p50_ms).toFixed(2)),
      pickup_p99: Number((corndogsResult.pickup_p99_ms / bossResult.pickup_p99_ms).toFixed(2)),
    },
  };
  consola.box(JSON.stringify(results, null, 2));
  const file = writeBenchResult({
    name: "queue",
    results,
    notes:
      `${WARMUP}-task unmeasured warm-up for each, then ${ROUNDS} alternating rounds (rates: median over rounds), each submitting ${TASKS} tasks, draining a quarter with 1 consumer and the rest with 8. ` +
      `Fairness: one embedded Postgres cluster with a database per system and the same settings (fsync and synchronous_commit on for both); ` +
      `the same load on both sides (${IN_FLIGHT} submits in flight, then 1 and 8 consumers); a pool of ${POOL} Postgres connections each ` +
      `(the Corndogs server's, pg-boss's). Corndogs goes through gRPC on 127.0.0.1 to its server in a process of its own, as deployed ` +
      `(inside reactorcide serve, workers elsewhere), one channel per consumer; pg-boss ${"10.4"} talks to Postgres directly from the bench process. ` +
      `Callers submit, claim and complete one task at a time on both sides, no batching on either: each Corndogs consumer keeps a StreamTasks stream open (our addition to the protocol) ` +
      `and grants one task of credit at a time, pg-boss fetches with its default batchSize 1; on both sides a consumer asks for its next task while the completion of its last is in flight, ` +
      `as pg-boss's own work() loop does (it does not await complete() before fetching again; work() itself would wait out its polling interval after every batch). ` +
      `corndogs_unary: the same server through GetNextTask and CompleteTask only (a client of a real Corndogs), the same pipelining with two unary calls. ` +
      `the Corndogs server groups concurrent SubmitTask calls into one INSERT, and concurrent GetNextTask, CompleteTask and CancelTask calls into one statement ` +
      `(group commit: each reply after the commit that holds its change). ` +
      `claim_complete_8_cpu_ms_per_task: user+system CPU of the whole bench process tree (this process, the Corndogs server process, Postgres) per task during the 8-consumer drain; _by_side splits it into the consumers (this process), the Corndogs server process and Postgres; cpu_bound_per_s is cores / that CPU, the rate an otherwise idle machine would allow if CPU were the only limit. ` +
      `Floor: each round also runs single-row UPDATE autocommit loops against the same Postgres for 2 s (8 connections, then 1): the commits per second it allows (fsync on), medians over rounds. ` +
      `Pick-up latency: time from starting the submit to the consumer holding the task, ${PICKUPS} tasks at random 20-400 ms gaps. ` +
      `Both poll 5 ms doubling to 500 ms; the Corndogs client also polls at once when the server's TaskEvents stream (LISTEN/NOTIFY behind it) ` +
      `says a task arrived, which pg-boss has no equivalent of. Extra figures: Corndogs polling only (no stream), an in-process consumer woken directly, ` +
      `and pg-boss work() (polls at its 0.5 s minimum).`,
  });
  consola.success(file);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
