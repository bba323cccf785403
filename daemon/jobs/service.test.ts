import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql as dsql } from "drizzle-orm";
import { testApi } from "../testing/api.ts";
import { JobEventBus, type JobEvent, type JobEventNotice } from "./outbox.ts";
import { insertJobs } from "./store.ts";
import { CorndogsJobQueue } from "./corndogs-job-queue.ts";
import { inProcessCorndogs } from "./in-process-corndogs.ts";
import { migrateQueue } from "../corndogs/migrate.ts";

let api: Awaited<ReturnType<typeof testApi>>;
let worker: string;
beforeAll(async () => {
  api = await testApi();
  worker = await api.tokenFor("events-worker", { worker: true });
  await api.call("POST", "/api/v1/projects", { body: { name: "ev", default_image: "busybox:1" } });
});
afterAll(() => api?.close());

const submit = async (body: Record<string, unknown> = {}) => {
  const r = await api.call("POST", "/api/v1/jobs", { body: { name: "e", command: "true", project: "ev", ...body } });
  expect(r.status).toBe(201);
  return r.json as { id: string };
};
const status = (id: string, body: Record<string, unknown>) => api.call("POST", `/api/v1/internal/jobs/${id}/status`, { token: worker, body });
/** A bus of its own on the same database: another coordinator process, or this one after a restart. */
const newBus = () => new JobEventBus(api.db, api.sql, { pollMs: 50 });
const name = () => `t-${crypto.randomUUID().slice(0, 8)}`;

describe("job events (outbox)", () => {
  test("a subscriber hears a job submitted and ended through the API, with the job as the API showed it", async () => {
    const bus = newBus();
    const seen: JobEvent[] = [];
    bus.subscribe(name(), async (event) => void seen.push(event));
    await bus.drain(); // registers: only what happens from now on
    const job = await submit({ network: "none", retries: 1 });
    await status(job.id, { status: "running", worker_id: "w1" });
    await status(job.id, { status: "failure", exit_code: 3, reason: "exit 3" });
    expect(await bus.drain()).toBe(2);
    expect(seen.map((e) => [e.kind, e.job.id, e.job.status])).toEqual([
      ["submitted", job.id, "queued"],
      ["ended", job.id, "failure"],
    ]);
    // The submitted event is the job exactly as the API answered the submit.
    expect(seen[0]!.job).toEqual(job as never);
    expect(seen[1]!.job).toMatchObject({ exit_code: 3, reason: "exit 3", network: "none", retries: 1, worker_id: "w1" });
    expect(await bus.drain()).toBe(0);
  });

  test("cancel and retry publish too: the cancelled job ends, the retry is submitted", async () => {
    const bus = newBus();
    const seen: string[] = [];
    bus.subscribe(name(), async (e) => void seen.push(`${e.kind}:${e.job.status}:${e.job.attempt}`));
    await bus.drain();
    const job = await submit();
    await api.call("POST", `/api/v1/jobs/${job.id}/cancel`);
    await api.call("POST", `/api/v1/jobs/${job.id}/retry`);
    await bus.drain();
    expect(seen).toEqual(["submitted:queued:1", "ended:cancelled:1", "submitted:queued:2"]);
  });

  test("a crash between a job's end and the subscriber's work loses nothing: the next start hands the event over", async () => {
    const sub = name();
    const before = newBus();
    before.subscribe(sub, async () => {});
    await before.drain(); // the subscriber exists, then the process "dies" (its bus never runs again)
    const job = await submit();
    await status(job.id, { status: "running" });
    await status(job.id, { status: "success", exit_code: 0 });
    // Restart: a new process with the same subscriber.
    const after = newBus();
    const ended: string[] = [];
    after.subscribe(sub, async (e) => void (e.kind === "ended" && ended.push(e.job.id)));
    await after.start();
    try {
      for (let i = 0; i < 100 && ended.length === 0; i++) await Bun.sleep(20);
      expect(ended).toEqual([job.id]);
    } finally {
      await after.stop();
    }
  });

  test("a handler that throws is rolled back with its delivery and gets the event again; writes through tx land once", async () => {
    const sub = name();
    const bus = newBus();
    await api.sql`CREATE TABLE IF NOT EXISTS test_event_effects (subscriber text, event_id bigint, PRIMARY KEY (subscriber, event_id))`;
    let calls = 0;
    bus.subscribe(sub, async (event, tx) => {
      calls++;
      await tx.execute(dsql`INSERT INTO test_event_effects VALUES (${sub}, ${event.id})`);
      if (calls === 1) throw new Error("subscriber down");
    });
    await bus.drain();
    await submit();
    expect(await bus.drain()).toBe(0); // threw: rolled back, retried after a backoff
    expect((await api.sql`SELECT count(*)::int AS n FROM test_event_effects WHERE subscriber = ${sub}`)[0]!.n).toBe(0);
    await Bun.sleep(1100);
    expect(await bus.drain()).toBe(1);
    expect(calls).toBe(2);
    expect((await api.sql`SELECT count(*)::int AS n FROM test_event_effects WHERE subscriber = ${sub}`)[0]!.n).toBe(1);
  });

  test("a new subscriber does not replay history; two processes sharing a subscriber name handle each event once", async () => {
    await submit(); // before the subscriber exists: not its event
    const sub = name();
    const handled: number[] = [];
    const a = newBus();
    const b = newBus();
    a.subscribe(sub, async (e) => void handled.push(e.id));
    b.subscribe(sub, async (e) => void handled.push(e.id));
    await Promise.all([a.drain(), b.drain()]);
    expect(handled).toEqual([]);
    for (let i = 0; i < 10; i++) await submit();
    await Promise.all([a.drain(), b.drain(), a.drain(), b.drain()]);
    expect(handled).toHaveLength(10);
    expect(new Set(handled).size).toBe(10);
  });

  test("an event whose transaction commits after later events were handed over (and the floor passed it) is still handed over, once", async () => {
    const bus = new JobEventBus(api.db, api.sql, { pollMs: 50, floorLagMs: 100, fullScanMs: 1500 });
    const seen: string[] = [];
    bus.subscribe(name(), async (e) => void (e.kind === "submitted" && seen.push(e.job.name)));
    await bus.drain();
    const project = (await api.sql`SELECT id FROM projects WHERE name = 'ev'`)[0]!.id as string;
    // A transaction takes an event id first and commits last, after the looks moved on.
    let commit!: () => void;
    const held = api.db.transaction(async (tx) => {
      await insertJobs(tx, [{ projectId: project, name: "late", command: "true" }]);
      await new Promise<void>((resolve) => (commit = resolve));
    });
    await Bun.sleep(50);
    for (let i = 0; i < 3; i++) {
      await submit({ name: `early-${i}` });
      await Bun.sleep(150);
      await bus.drain();
    }
    expect(seen).toEqual(["early-0", "early-1", "early-2"]);
    commit();
    await held;
    const deadline = Date.now() + 5_000;
    while (!seen.includes("late") && Date.now() < deadline) {
      await bus.drain();
      await Bun.sleep(100);
    }
    await bus.drain();
    expect(seen).toEqual(["early-0", "early-1", "early-2", "late"]);
  });

  test("watch: every process's listeners hear each event shortly after its commit (LISTEN/NOTIFY)", async () => {
    const bus = newBus();
    const notices: JobEventNotice[] = [];
    bus.watch((n) => notices.push(n));
    await bus.start();
    try {
      const job = await submit();
      for (let i = 0; i < 100 && notices.length === 0; i++) await Bun.sleep(20);
      expect(notices).toContainEqual(expect.objectContaining({ kind: "submitted", job_id: job.id, status: "queued" }));
    } finally {
      await bus.stop();
    }
  });

  test("a subscriber of ends is handed only ends and keeps no row for a submit; prune drops old events no subscriber of their kind still needs", async () => {
    const ends = name();
    const lagging = name();
    const bus = newBus();
    const behind = newBus();
    const seen: string[] = [];
    bus.subscribe(ends, async (e) => void seen.push(`${e.kind}:${e.job.status}`), { kinds: ["ended"] });
    behind.subscribe(lagging, async () => {}, { kinds: ["ended"] });
    await Promise.all([bus.drain(), behind.drain()]);
    const job = await submit();
    await status(job.id, { status: "running", worker_id: "w1" });
    await status(job.id, { status: "success", exit_code: 0 });
    expect(await bus.drain()).toBe(1);
    expect(seen).toEqual(["ended:success"]);
    const rows = await api.sql`SELECT e.kind FROM job_event_deliveries d JOIN job_events e ON e.id = d.event_id WHERE d.subscriber = ${ends}`;
    expect(rows.map((r) => r.kind)).toEqual(["ended"]);
    // A week on: the submit concerned neither subscriber; the end still waits for the lagging one.
    await api.sql`UPDATE job_events SET created_at = now() - interval '8 days' WHERE job_id = ${job.id}`;
    await api.sql`UPDATE job_event_subscribers SET last_seen_at = now() - interval '8 days' WHERE name NOT IN (${ends}, ${lagging})`;
    await bus.prune();
    const kept = await api.sql`SELECT kind FROM job_events WHERE job_id = ${job.id}`;
    expect(kept.map((r) => r.kind)).toEqual(["ended"]);
    expect(await behind.drain()).toBe(1);
    await bus.prune();
    expect(await api.sql`SELECT kind FROM job_events WHERE job_id = ${job.id}`).toHaveLength(0);
  });

  test("the job service refuses what the job's status does not allow: 409 naming status, 404 for an unknown job", async () => {
    const job = await submit();
    expect((await status(job.id, { status: "success" })).status).toBe(409);
    await api.call("POST", `/api/v1/jobs/${job.id}/cancel`);
    const again = await api.call("POST", `/api/v1/jobs/${job.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json.error.field).toBe("status");
    expect((await status(crypto.randomUUID(), { status: "running" })).status).toBe(404);
    const early = await api.call("POST", `/api/v1/jobs/${(await submit()).id}/retry`);
    expect(early.status).toBe(409);
  });
});

describe("jobs and their tasks (the queue on the coordinator's database)", () => {
  test("a submitted job and its task commit in one transaction; a cancel withdraws the task", async () => {
    const queue = new CorndogsJobQueue();
    const own = await testApi({ queue });
    const local = inProcessCorndogs(own.sql);
    try {
      await migrateQueue(own.sql);
      queue.attach(local);
      await own.call("POST", "/api/v1/projects", { body: { name: "tq", default_image: "busybox:1" } });
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => own.call("POST", "/api/v1/jobs", { body: { name: `t${i}`, command: "true", project: "tq", priority: i } })),
      );
      expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 201]);
      for (const { json: job } of answers) {
        const [row] = await own.sql`SELECT xmin::text AS tx FROM jobs WHERE id = ${job.id}`;
        const tasks = await own.sql`SELECT xmin::text AS tx, current_state, priority::int AS priority FROM corndogs_tasks WHERE convert_from(payload, 'UTF8')::jsonb ->> 'job_id' = ${job.id}`;
        expect([...tasks]).toEqual([{ tx: row!.tx, current_state: "submitted", priority: job.priority }]);
      }
      const cancelled = answers[0]!.json;
      expect((await own.call("POST", `/api/v1/jobs/${cancelled.id}/cancel`)).status).toBe(200);
      expect(await own.sql`SELECT 1 FROM corndogs_tasks WHERE convert_from(payload, 'UTF8')::jsonb ->> 'job_id' = ${cancelled.id}`).toHaveLength(0);
    } finally {
      queue.close();
      await local.close();
      await own.close();
    }
  });
});
