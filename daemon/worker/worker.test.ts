import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorndogsClient } from "../corndogs/client.ts";
import { startCorndogsServer, type CorndogsServer } from "../corndogs/server.ts";
import { testDatabase } from "../testing/postgres.ts";
import { CorndogsWorkQueue, jobIdOfPayload } from "./corndogs-queue.ts";
import type { JobRunOutcome } from "./job-run.ts";
import { DockerRuntime } from "./runtimes/docker.ts";
import { hostWorkspaces } from "./runtimes/select.ts";
import { defaultSettings } from "./settings.ts";
import { ensureBusyboxImage } from "./testing/busybox-image.ts";
import { MemoryCoordinator } from "./testing/memory-coordinator.ts";
import { setSpanSink, type JobSpanTimes } from "./spans.ts";
import { Worker } from "./worker.ts";

const QUEUE = "reactorcide-jobs";
let image = "";
let server: CorndogsServer;
let client: CorndogsClient;

beforeAll(async () => {
  image = await ensureBusyboxImage();
  const db = await testDatabase("worker");
  server = await startCorndogsServer({ databaseUrl: db.url, listen: "127.0.0.1:0" });
  client = new CorndogsClient(server.address);
}, 300_000);

afterAll(async () => {
  client?.close();
  await server?.close();
});

async function newWorker(coordinator: MemoryCoordinator, name: string, opts: { concurrency: number; leaseSeconds: number }, outcomes: Map<string, JobRunOutcome[]>) {
  const settings = defaultSettings({
    workerId: name,
    workspaceRoot: await mkdtemp(join(tmpdir(), `reactorcide-${name}-`)),
    defaultImage: image,
    gracePeriod: 1,
    cancelPollMs: 200,
    limits: { memoryBytes: 64 * 2 ** 20, cpus: 0.5, pids: 64 },
  });
  return new Worker({
    queue: new CorndogsWorkQueue(client, { queue: QUEUE, leaseSeconds: opts.leaseSeconds, wake: server.onTask.bind(server) }),
    coordinator,
    runtime: new DockerRuntime({ workspaces: hostWorkspaces(settings) }),
    settings,
    concurrency: opts.concurrency,
    leaseSeconds: opts.leaseSeconds,
    heartbeatMs: 200,
    onOutcome: (jobId, outcome) => outcomes.set(jobId, [...(outcomes.get(jobId) ?? []), outcome]),
  });
}

async function until(check: () => boolean, what: string, limitMs = 90_000) {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await Bun.sleep(50);
  }
}

test("payloads carry only the job id, as JSON or bare", () => {
  expect(jobIdOfPayload(new TextEncoder().encode('{"job_id":"abc-1"}'))).toBe("abc-1");
  expect(jobIdOfPayload(new TextEncoder().encode("abc-2"))).toBe("abc-2");
  expect(() => jobIdOfPayload(new TextEncoder().encode('{"secret":"x"}'))).toThrow(/no job id/);
});

test("two workers sharing one queue run every job exactly once, and register with their capacity", async () => {
  const coordinator = new MemoryCoordinator();
  const outcomes = new Map<string, JobRunOutcome[]>();
  const a = await newWorker(coordinator, "worker-a", { concurrency: 2, leaseSeconds: 30 }, outcomes);
  const b = await newWorker(coordinator, "worker-b", { concurrency: 2, leaseSeconds: 30 }, outcomes);
  a.start();
  b.start();
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const job = coordinator.add({ command: `echo job-${i}` });
    ids.push(job.id);
    await client.submitTask({ queue: QUEUE, payload: JSON.stringify({ job_id: job.id }) });
  }
  await until(() => ids.every((id) => outcomes.has(id)), "all jobs to finish");
  expect(coordinator.workers.get("worker-a")?.capacity).toBe(2);
  expect(coordinator.workers.get("worker-b")?.capacity).toBe(2);
  await Promise.all([a.stop(), b.stop()]);
  for (const [i, id] of ids.entries()) {
    expect(outcomes.get(id)).toHaveLength(1);
    expect(coordinator.jobs.get(id)!.status).toBe("success");
    expect(coordinator.text(id)).toContain(`job-${i}`);
  }
  expect(coordinator.finishes).toHaveLength(12);
  const counts = await client.getTaskStateCounts(QUEUE);
  expect(counts.count).toBe(0n);
}, 180_000);

test("a job running longer than the lease keeps its task (the lease is extended), and runs once", async () => {
  const coordinator = new MemoryCoordinator();
  const outcomes = new Map<string, JobRunOutcome[]>();
  const worker = await newWorker(coordinator, "worker-lease", { concurrency: 1, leaseSeconds: 2 }, outcomes);
  const other = await newWorker(coordinator, "worker-other", { concurrency: 1, leaseSeconds: 2 }, outcomes);
  const job = coordinator.add({ command: "echo start; sleep 5; echo end" });
  await client.submitTask({ queue: QUEUE, payload: job.id });
  worker.start();
  await until(() => coordinator.jobs.get(job.id)!.status === "running", "the job to start");
  other.start();
  // The coordinator's timer: any task whose lease ran out goes back to the queue.
  const sweeper = setInterval(() => void client.cleanUpTimedOut({ queue: QUEUE }), 250);
  await until(() => outcomes.has(job.id), "the long job to finish");
  clearInterval(sweeper);
  await Promise.all([worker.stop(), other.stop()]);
  expect(outcomes.get(job.id)).toHaveLength(1);
  expect(coordinator.jobs.get(job.id)!.status).toBe("success");
  expect(coordinator.text(job.id)).toContain("end");
}, 60_000);

test("with spans on, each job's phase times reach the sink once, from its claim to its task's completion", async () => {
  const reported: { jobId: string; spans: JobSpanTimes }[] = [];
  setSpanSink((jobId, spans) => reported.push({ jobId, spans }));
  try {
    const coordinator = new MemoryCoordinator();
    const outcomes = new Map<string, JobRunOutcome[]>();
    const worker = await newWorker(coordinator, "worker-spans", { concurrency: 2, leaseSeconds: 30 }, outcomes);
    worker.start();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const job = coordinator.add({ command: "true" });
      ids.push(job.id);
      await client.submitTask({ queue: QUEUE, payload: JSON.stringify({ job_id: job.id }) });
    }
    await until(() => ids.every((id) => outcomes.has(id)), "all jobs to finish");
    await worker.stop();
    expect(reported.map((r) => r.jobId).sort()).toEqual([...ids].sort());
    for (const { spans } of reported) {
      expect(Object.keys(spans)).toEqual(expect.arrayContaining(["claim", "start", "prepare", "runtime_start", "run_and_remove", "log_close", "set_finished", "queue_complete"]));
      for (const ms of Object.values(spans)) expect(ms).toBeGreaterThanOrEqual(0);
    }
  } finally {
    setSpanSink(null);
  }
}, 120_000);
