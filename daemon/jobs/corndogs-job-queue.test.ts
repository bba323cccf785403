import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Job } from "./store.ts";
import { jobIdOfPayload } from "../worker/corndogs-queue.ts";
import { JOB_TASK_QUEUE as JOB_QUEUE } from "../../runner/protocol/index.ts";
import { CorndogsClient } from "../corndogs/client.ts";
import { CorndogsJobQueue } from "./corndogs-job-queue.ts";
import { startCorndogsServer, type CorndogsServer } from "../corndogs/server.ts";
import { startTimeoutSweeper } from "../corndogs/sweeper.ts";
import { startTestQueue, type QueueFixture } from "../corndogs/testing.ts";

let q: QueueFixture;
beforeAll(async () => {
  q = await startTestQueue();
});
afterAll(() => q.close());

const job = (priority = 0) => ({ id: crypto.randomUUID(), priority }) as Job;

test("enqueue waits for attach, then submits the job id alone on the queue workers read, with the job's priority", async () => {
  const queue = new CorndogsJobQueue();
  const low = job(1);
  const high = job(7);
  const pending = Promise.all([queue.enqueue(low), queue.enqueue(high)]);
  queue.attach(q.client);
  await pending;
  const first = await q.client.getNextTask({ queue: JOB_QUEUE, currentState: "submitted" });
  expect(jobIdOfPayload(first!.payload)).toBe(high.id);
  expect(JSON.parse(first!.payload.toString())).toEqual({ job_id: high.id });
  expect(first!.priority).toBe(7n);
  const second = await q.client.getNextTask({ queue: JOB_QUEUE, currentState: "submitted" });
  expect(jobIdOfPayload(second!.payload)).toBe(low.id);
});

test("cancel withdraws a waiting task; a claimed one or an unknown job is left to the worker without an error", async () => {
  const queue = new CorndogsJobQueue("cancel-test");
  queue.attach(q.client);
  const waiting = job();
  await queue.enqueue(waiting);
  await queue.cancel(waiting);
  expect(await q.client.getNextTask({ queue: "cancel-test", currentState: "submitted" })).toBeUndefined();

  const claimed = job();
  await queue.enqueue(claimed);
  const task = await q.client.getNextTask({ queue: "cancel-test", currentState: "submitted" });
  expect(jobIdOfPayload(task!.payload)).toBe(claimed.id);
  await queue.cancel(claimed);
  expect((await q.client.getTaskStateById(task!.uuid))?.currentState).toBe(task!.currentState);

  await queue.cancel(job());
});

test("it remembers a bounded number of tasks for cancel; a forgotten job's task is left to the worker", async () => {
  const queue = new CorndogsJobQueue("bounded-test", { remember: 2 });
  queue.attach(q.client);
  const jobs = [job(), job(), job()];
  for (const j of jobs) await queue.enqueue(j);
  await queue.cancel(jobs[0]!);
  await queue.cancel(jobs[2]!);
  const left: string[] = [];
  for (let task; (task = await q.client.getNextTask({ queue: "bounded-test", currentState: "submitted" })); ) left.push(jobIdOfPayload(task.payload));
  expect(left.sort()).toEqual([jobs[0]!.id, jobs[1]!.id].sort());
});

test("the timeout sweeper puts a task whose lease ran out back in its queue, without anyone calling CleanUpTimedOut by hand", async () => {
  const queue = "sweeper-test";
  await q.client.submitTask({ queue, currentState: "submitted", payload: "job" });
  const claimed = await q.client.getNextTask({ queue, currentState: "submitted", overrideTimeout: 1 });
  expect(claimed).toBeDefined();
  expect(await q.client.getNextTask({ queue, currentState: "submitted" })).toBeUndefined();
  const sweeper = startTimeoutSweeper(q.client, { intervalMs: 100, queue });
  try {
    const deadline = Date.now() + 10_000;
    let again;
    while (!(again = await q.client.getNextTask({ queue, currentState: "submitted" })) && Date.now() < deadline) await Bun.sleep(100);
    expect(again?.uuid).toBe(claimed!.uuid);
  } finally {
    sweeper.stop();
  }
});

test("a job the queue cannot take (server down) is not an error: it waits and is submitted once the queue is back; a cancel meanwhile drops it", async () => {
  // A port nothing listens on yet.
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  const client = new CorndogsClient(`127.0.0.1:${port}`, { deadlineMs: 2_000 });
  const queue = new CorndogsJobQueue("outage-test", { retryMs: 100 });
  queue.attach(client);
  let server: CorndogsServer | undefined;
  try {
    const kept = job();
    const dropped = job();
    await queue.enqueue(kept);
    await queue.enqueue(dropped);
    expect(queue.waiting).toBe(2);
    await queue.cancel(dropped);
    expect(queue.waiting).toBe(1);
    server = await startCorndogsServer({ databaseUrl: q.databaseUrl, listen: `127.0.0.1:${port}` });
    const deadline = Date.now() + 20_000;
    while (queue.waiting > 0 && Date.now() < deadline) await Bun.sleep(100);
    expect(queue.waiting).toBe(0);
    const task = await q.client.getNextTask({ queue: "outage-test", currentState: "submitted" });
    expect(jobIdOfPayload(task!.payload)).toBe(kept.id);
    expect(await q.client.getNextTask({ queue: "outage-test", currentState: "submitted" })).toBeUndefined();
  } finally {
    queue.close();
    client.close();
    await server?.close();
  }
}, 30_000);
