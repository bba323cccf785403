import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { CorndogsClient } from "./client.ts";
import { CorndogsError } from "./errors.ts";
import { TaskStore } from "./store.ts";
import { startTestQueue, type QueueFixture } from "./testing.ts";

let q: QueueFixture;
let client: CorndogsClient;
beforeAll(async () => {
  q = await startTestQueue();
  client = q.client;
});
afterAll(() => q.close());

const UNKNOWN = "3f0e1c7a-5b2d-4e8f-9a6b-1c2d3e4f5a6b";
let queueSeq = 0;
const freshQueue = () => `q${++queueSeq}-${crypto.randomUUID().slice(0, 8)}`;

async function rejectsWith(promise: Promise<unknown>, code: status, text?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CorndogsError);
  expect((error as CorndogsError).code).toBe(code);
  if (text) expect((error as CorndogsError).message).toMatch(text);
}

describe("SubmitTask", () => {
  test("concurrent submits (grouped into one INSERT) each get their own task back, committed and in call order", async () => {
    const queue = freshQueue();
    const tasks = await Promise.all(Array.from({ length: 60 }, (_, i) => client.submitTask({ queue, payload: `job-${i}`, priority: i % 2 })));
    expect(new Set(tasks.map((t) => t.uuid)).size).toBe(60);
    tasks.forEach((t, i) => {
      expect(t.payload.toString()).toBe(`job-${i}`);
      expect(t.priority).toBe(BigInt(i % 2));
      expect(t.submitTime).toBe(t.updateTime);
    });
    // Committed before the reply: another connection sees every one.
    expect((await client.getTaskStateCounts(queue)).count).toBe(60n);
    const order: string[] = [];
    for (let t = await client.getNextTask({ queue }); t; t = await client.getNextTask({ queue })) order.push(t.payload.toString());
    const odd = tasks.filter((_, i) => i % 2 === 1).map((t) => t.payload.toString());
    const even = tasks.filter((_, i) => i % 2 === 0).map((t) => t.payload.toString());
    expect(order).toEqual([...odd, ...even]);
  });

  test("a row Postgres refuses fails only its own submit, not the rest of its batch", async () => {
    const sql = postgres(q.databaseUrl, { max: 2, onnotice: () => {} });
    try {
      const store = new TaskStore(sql);
      const queue = freshQueue();
      const task = (name: string) => ({ queue: name, currentState: "submitted", autoTargetState: "w", timeout: 0n, payload: Buffer.from("x"), priority: 0n });
      // Called together, the first few go alone and the rest wait and go as one batch with the bad one.
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.submit(task(i === 15 ? "bad\u0000queue" : queue))));
      expect(results.map((r, i) => [i, r.status])).toEqual(results.map((_, i) => [i, i === 15 ? "rejected" : "fulfilled"]));
      expect((await client.getTaskStateCounts(queue)).count).toBe(19n);
    } finally {
      await sql.end();
    }
  });

  test("applies the Corndogs defaults and returns the stored task", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const task = await client.submitTask({ payload: Buffer.from([0, 1, 255]), timeout: -5 });
    expect(task.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(task.queue).toBe("default");
    expect(task.currentState).toBe("submitted");
    expect(task.autoTargetState).toBe("submitted-working");
    expect(task.timeout).toBe(0n);
    expect(task.priority).toBe(0n);
    expect([...task.payload]).toEqual([0, 1, 255]);
    expect(task.submitTime).toBe(task.updateTime);
    expect(task.submitTime).toBeGreaterThanOrEqual(before - 1_000_000_000n);
    expect(task.submitTime).toBeLessThan(before + 60_000_000_000n);
    await client.cancelTask({ uuid: task.uuid });
  });

  test("keeps explicit queue, states, timeout and priority; auto target derives from the state", async () => {
    const queue = freshQueue();
    const task = await client.submitTask({ queue, currentState: "waiting", timeout: 30, priority: -7 });
    expect(task).toMatchObject({ queue, currentState: "waiting", autoTargetState: "waiting-working", timeout: 30n, priority: -7n });
    const other = await client.submitTask({ queue, currentState: "a", autoTargetState: "b" });
    expect(other.autoTargetState).toBe("b");
  });

  test("a priority outside int64 is INVALID_ARGUMENT, naming the field", async () => {
    await rejectsWith(client.submitTask({ priority: 2n ** 63n }), status.INVALID_ARGUMENT, /priority/);
    await rejectsWith(client.submitTask({ priority: -(2n ** 63n) - 1n }), status.INVALID_ARGUMENT, /priority/);
    const edge = await client.submitTask({ queue: freshQueue(), priority: 2n ** 63n - 1n });
    expect(edge.priority).toBe(2n ** 63n - 1n);
  });
});

describe("GetTaskStateByID", () => {
  test("finds a live task, ignoring the queue sent", async () => {
    const task = await client.submitTask({ queue: freshQueue(), payload: "x" });
    const found = await client.getTaskStateById(task.uuid, "some-other-queue");
    expect(found).toEqual(task);
  });
  test("an unknown uuid is OK with no task", async () => {
    expect(await client.getTaskStateById(UNKNOWN)).toBeUndefined();
  });
  test("a malformed uuid is INVALID_ARGUMENT", async () => {
    await rejectsWith(client.getTaskStateById("not-a-uuid"), status.INVALID_ARGUMENT, /uuid/);
    await rejectsWith(client.getTaskStateById("'; DROP TABLE corndogs_tasks; --"), status.INVALID_ARGUMENT, /uuid/);
  });
});

describe("GetNextTask", () => {
  test("swaps the two states, starts the clock and returns the payload", async () => {
    const queue = freshQueue();
    const submitted = await client.submitTask({ queue, payload: "job-1", timeout: 60 });
    const claimed = await client.getNextTask({ queue });
    expect(claimed).toMatchObject({ uuid: submitted.uuid, currentState: "submitted-working", autoTargetState: "submitted", timeout: 60n });
    expect(claimed!.payload.toString()).toBe("job-1");
    expect(claimed!.updateTime).toBeGreaterThan(submitted.updateTime);
    expect(claimed!.submitTime).toBe(submitted.submitTime);
  });

  test("an empty queue answers at once with no task", async () => {
    expect(await client.getNextTask({ queue: freshQueue() })).toBeUndefined();
  });

  test("only tasks in the asked state are claimed", async () => {
    const queue = freshQueue();
    await client.submitTask({ queue, currentState: "other" });
    expect(await client.getNextTask({ queue })).toBeUndefined();
    expect((await client.getNextTask({ queue, currentState: "other" }))?.currentState).toBe("other-working");
  });

  test("override_timeout: 0 keeps, negative clears, positive sets; state overrides apply", async () => {
    const queue = freshQueue();
    for (let i = 0; i < 3; i++) await client.submitTask({ queue, timeout: 40, priority: 3 - i });
    expect((await client.getNextTask({ queue, overrideTimeout: 0 }))!.timeout).toBe(40n);
    expect((await client.getNextTask({ queue, overrideTimeout: -1 }))!.timeout).toBe(0n);
    const last = await client.getNextTask({ queue, overrideTimeout: 5, overrideCurrentState: "running", overrideAutoTargetState: "retry" });
    expect(last).toMatchObject({ timeout: 5n, currentState: "running", autoTargetState: "retry" });
  });

  test("highest priority first, then least recently updated", async () => {
    const queue = freshQueue();
    const low1 = await client.submitTask({ queue, priority: 1 });
    const high1 = await client.submitTask({ queue, priority: 10 });
    const low2 = await client.submitTask({ queue, priority: 1 });
    const high2 = await client.submitTask({ queue, priority: 10 });
    const negative = await client.submitTask({ queue, priority: -5 });
    // Updating low1 makes it the most recently updated of its priority.
    await client.updateTask({ uuid: low1.uuid, newState: "submitted", autoTargetState: "submitted-working", priority: 1 });
    const order: string[] = [];
    for (let task = await client.getNextTask({ queue }); task; task = await client.getNextTask({ queue })) order.push(task.uuid);
    expect(order).toEqual([high1.uuid, high2.uuid, low2.uuid, low1.uuid, negative.uuid]);
  });
});

describe("UpdateTask", () => {
  test("sets the states, timeout and priority as sent, restarts the clock, keeps an empty payload", async () => {
    const queue = freshQueue();
    const task = await client.submitTask({ queue, payload: "keep", timeout: 9, priority: 4 });
    const updated = await client.updateTask({ uuid: task.uuid, queue: "ignored" });
    expect(updated).toMatchObject({ queue, currentState: "updated", autoTargetState: "updated-working", timeout: 0n, priority: 0n });
    expect(updated!.payload.toString()).toBe("keep");
    expect(updated!.updateTime).toBeGreaterThan(task.updateTime);
    const again = await client.updateTask({ uuid: task.uuid, currentState: "updated", newState: "s2", timeout: 7, priority: 2, payload: "new" });
    expect(again).toMatchObject({ currentState: "s2", autoTargetState: "s2-working", timeout: 7n, priority: 2n });
    expect(again!.payload.toString()).toBe("new");
  });

  test("a stale current_state is FAILED_PRECONDITION and changes nothing", async () => {
    const task = await client.submitTask({ queue: freshQueue() });
    await rejectsWith(client.updateTask({ uuid: task.uuid, currentState: "submitted-working", newState: "x" }), status.FAILED_PRECONDITION, /submitted/);
    expect((await client.getTaskStateById(task.uuid))!.currentState).toBe("submitted");
  });

  test("unknown uuid: OK with no task; malformed uuid: INVALID_ARGUMENT; bad priority: INVALID_ARGUMENT", async () => {
    expect(await client.updateTask({ uuid: UNKNOWN, newState: "x" })).toBeUndefined();
    expect(await client.updateTask({ uuid: UNKNOWN, currentState: "x" })).toBeUndefined();
    await rejectsWith(client.updateTask({ uuid: "1234" }), status.INVALID_ARGUMENT, /uuid/);
    const task = await client.submitTask({ queue: freshQueue() });
    await rejectsWith(client.updateTask({ uuid: task.uuid, priority: 2n ** 64n }), status.INVALID_ARGUMENT, /priority/);
  });
});

describe.each([
  ["CompleteTask", "completed"],
  ["CancelTask", "canceled"],
] as const)("%s", (rpc, finalState) => {
  const finish = (input: { uuid: string; currentState?: string }) =>
    rpc === "CompleteTask" ? client.completeTask(input) : client.cancelTask(input);

  test(`archives the task as ${finalState}, still visible by id, gone from the counts`, async () => {
    const queue = freshQueue();
    const task = await client.submitTask({ queue, payload: "p" });
    const claimed = (await client.getNextTask({ queue }))!;
    const done = await finish({ uuid: task.uuid, currentState: claimed.currentState });
    expect(done).toMatchObject({ uuid: task.uuid, queue, currentState: finalState, autoTargetState: finalState });
    expect(done!.updateTime).toBeGreaterThan(claimed.updateTime);
    expect(await client.getTaskStateById(task.uuid)).toEqual(done);
    expect((await client.getTaskStateCounts(queue)).count).toBe(0n);
    expect(await client.getNextTask({ queue, currentState: finalState })).toBeUndefined();
    // A second finish finds no live task.
    expect(await finish({ uuid: task.uuid })).toBeUndefined();
  });

  test("a stale current_state is FAILED_PRECONDITION; unknown is OK with no task; malformed is INVALID_ARGUMENT", async () => {
    const task = await client.submitTask({ queue: freshQueue() });
    await rejectsWith(finish({ uuid: task.uuid, currentState: "submitted-working" }), status.FAILED_PRECONDITION);
    expect((await client.getTaskStateById(task.uuid))!.currentState).toBe("submitted");
    expect(await finish({ uuid: UNKNOWN })).toBeUndefined();
    await rejectsWith(finish({ uuid: "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz" }), status.INVALID_ARGUMENT, /uuid/);
  });
});

describe("claims and archives grouped into one statement", () => {
  test("a burst of claims, completes and cancels: each caller gets its own answer, no task claimed and archived at once", async () => {
    const sql = postgres(q.databaseUrl, { max: 4, onnotice: () => {} });
    // Counts the grouped statements, to know the burst really went as one.
    let grouped = 0;
    const counting = postgres(q.databaseUrl, { max: 4, onnotice: () => {}, debug: (_c, query) => void (query.includes("SKIP LOCKED") && grouped++) });
    try {
      const store = new TaskStore(counting);
      const queue = freshQueue();
      const other = freshQueue();
      const submit = (name: string, priority: number) =>
        store.submit({ queue: name, currentState: "submitted", autoTargetState: "submitted-working", timeout: 0n, payload: Buffer.from(String(priority)), priority: BigInt(priority) });
      const a = await submit(queue, 9);
      const b = await submit(queue, 8);
      const c = await submit(queue, 2);
      const d = await submit(queue, 1);
      const e = await submit(other, 0);
      const claim = (name: string) => store.claim({ queue: name, currentState: "submitted", overrideTimeout: 0n, overrideCurrentState: "", overrideAutoTargetState: "" });
      const claimedA = (await claim(queue))!;
      expect(claimedA.uuid).toBe(a.uuid);
      await Bun.sleep(10); // that statement's slot is free again
      grouped = 0;
      // The first two calls go at once (two statements in flight); the rest wait and go together.
      const [, , completeA, cancelA, cancelB, first, second, third, fromOther] = await Promise.all([
        claim(freshQueue()),
        claim(freshQueue()),
        store.archive(a.uuid, "submitted-working", "completed"),
        store.archive(a.uuid, "", "canceled"),
        // B is waiting, best of the queue: the cancel takes it, not a claim of the same burst.
        store.archive(b.uuid, "", "canceled"),
        claim(queue),
        claim(queue),
        claim(queue),
        claim(other),
      ]);
      // Two single calls, then the burst: one statement for the archives and the first kind of claim, one for the other queue.
      expect(grouped).toBe(4);
      // A, named twice, is archived once: by one of the two, and the other finds it gone.
      expect([completeA?.current_state, cancelA?.current_state].filter(Boolean)).toHaveLength(1);
      expect((await store.get(a.uuid))!.current_state).toBe(completeA ? "completed" : "canceled");
      expect(cancelB).toMatchObject({ uuid: b.uuid, current_state: "canceled", auto_target_state: "canceled" });
      // The claims get C then D in priority order; the third finds nothing.
      expect([first?.uuid, second?.uuid, third?.uuid]).toEqual([c.uuid, d.uuid, undefined]);
      expect(first).toMatchObject({ current_state: "submitted-working", auto_target_state: "submitted" });
      expect(fromOther?.uuid).toBe(e.uuid);
      const [live] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM corndogs_tasks WHERE uuid = ANY(${[a.uuid, b.uuid]}::uuid[])`;
      expect(live!.n).toBe("0");
    } finally {
      await counting.end();
      await sql.end();
    }
  });
});

describe("CleanUpTimedOut", () => {
  test("a consumer that dies after claiming: the task comes back after its timeout", async () => {
    const queue = freshQueue();
    const task = await client.submitTask({ queue, payload: "job" });
    const claim = (await client.getNextTask({ queue, overrideTimeout: 2 }))!;
    // The consumer dies here. Before the deadline nothing times out.
    expect(await client.cleanUpTimedOut({ queue, atTime: claim.updateTime + 1_000_000_000n })).toBe(0n);
    expect(await client.getNextTask({ queue })).toBeUndefined();
    expect(await client.cleanUpTimedOut({ queue, atTime: claim.updateTime + 2_000_000_001n })).toBe(1n);
    const back = (await client.getTaskStateById(task.uuid))!;
    expect(back).toMatchObject({ currentState: "submitted", autoTargetState: "submitted-working", timeout: 0n });
    const second = (await client.getNextTask({ queue, overrideTimeout: 60 }))!;
    expect(second.uuid).toBe(task.uuid);
    expect(second.payload.toString()).toBe("job");
    // The first worker wakes up: its claim went to another worker, so its complete is refused.
    expect(second.currentState).toBe(claim.currentState);
    await rejectsWith(client.updateTask({ uuid: task.uuid, currentState: "submitted" }), status.FAILED_PRECONDITION);
    expect(await client.completeTask({ uuid: task.uuid, currentState: second.currentState })).toBeDefined();
  });

  test("a stale worker's complete is refused after the timeout swap", async () => {
    const queue = freshQueue();
    await client.submitTask({ queue });
    const claim = (await client.getNextTask({ queue, overrideTimeout: 1, overrideCurrentState: "running" }))!;
    expect(await client.cleanUpTimedOut({ atTime: claim.updateTime + 5_000_000_000n })).toBeGreaterThanOrEqual(1n);
    await rejectsWith(client.completeTask({ uuid: claim.uuid, currentState: "running" }), status.FAILED_PRECONDITION, /timed out/);
    // Swapped back: the state it was picked from is current again, so another worker can claim it.
    expect(await client.getTaskStateById(claim.uuid)).toMatchObject({ currentState: "submitted", autoTargetState: "running" });
  });

  test("only the named queue, only tasks with a timeout; empty queue means all", async () => {
    const a = freshQueue();
    const b = freshQueue();
    const ta = await client.submitTask({ queue: a, timeout: 1 });
    const tb = await client.submitTask({ queue: b, timeout: 1 });
    const none = await client.submitTask({ queue: b });
    const later = tb.updateTime + 10_000_000_000n;
    expect(await client.cleanUpTimedOut({ queue: a, atTime: later })).toBe(1n);
    expect((await client.getTaskStateById(tb.uuid))!.currentState).toBe("submitted");
    expect(await client.cleanUpTimedOut({ atTime: later })).toBeGreaterThanOrEqual(1n);
    expect((await client.getTaskStateById(tb.uuid))!.currentState).toBe("submitted-working");
    expect((await client.getTaskStateById(ta.uuid))!.currentState).toBe("submitted-working");
    expect((await client.getTaskStateById(none.uuid))!.currentState).toBe("submitted");
  });

  test("nanosecond times beyond 2^53 are exact end to end", async () => {
    const queue = freshQueue();
    const task = await client.submitTask({ queue, timeout: 3 });
    expect(task.updateTime).toBeGreaterThan(2n ** 53n);
    const deadline = task.updateTime + 3_000_000_000n;
    // A float would round these to a multiple of 256 ns; at the deadline exactly nothing times out, 1 ns later it does.
    expect(await client.cleanUpTimedOut({ queue, atTime: deadline })).toBe(0n);
    expect(await client.cleanUpTimedOut({ queue, atTime: deadline + 1n })).toBe(1n);
    const sql = postgres(q.databaseUrl, { max: 1 });
    try {
      const [row] = await sql<{ submit_time: string }[]>`SELECT submit_time::text FROM corndogs_tasks WHERE uuid = ${task.uuid}`;
      expect(row!.submit_time).toBe(task.submitTime.toString());
    } finally {
      await sql.end();
    }
  });
});

describe("metrics", () => {
  test("count live tasks per queue and state; archived tasks drop out", async () => {
    const { client: c, close } = await startTestQueue();
    try {
      expect(await c.getQueues()).toEqual({ queues: [], totalTaskCount: 0n });
      const a1 = await c.submitTask({ queue: "a" });
      await c.submitTask({ queue: "a" });
      await c.submitTask({ queue: "a", currentState: "held" });
      await c.submitTask({ queue: "b" });
      await c.getNextTask({ queue: "a" });
      const done = await c.submitTask({ queue: "c" });
      await c.completeTask({ uuid: done.uuid });
      const queues = await c.getQueues();
      expect(queues.queues.sort()).toEqual(["a", "b"]);
      expect(queues.totalTaskCount).toBe(4n);
      expect(await c.getQueueTaskCounts()).toEqual({ queueCounts: { a: 3n, b: 1n }, totalTaskCount: 4n });
      expect(await c.getTaskStateCounts("a")).toEqual({
        queue: "a",
        count: 3n,
        states: { submitted: 1n, "submitted-working": 1n, held: 1n },
      });
      expect(await c.getTaskStateCounts()).toEqual({ queue: "default", count: 0n, states: {} });
      expect(await c.getQueueAndStateCounts()).toEqual({
        a: { count: 3n, states: { submitted: 1n, "submitted-working": 1n, held: 1n } },
        b: { count: 1n, states: { submitted: 1n } },
      });
      await c.cancelTask({ uuid: a1.uuid });
      expect((await c.getQueueTaskCounts()).queueCounts.a).toBe(2n);
    } finally {
      await close();
    }
  });
});
