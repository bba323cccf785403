import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { testDatabase } from "../testing/postgres.ts";
import { LogWakeups, notifyLog } from "./log-notify.ts";

const db = await testDatabase("lognotify");
// Two clients stand for two coordinator replicas on one database.
const replicaA = postgres(db.url, { max: 2, onnotice: () => {} });
const replicaB = postgres(db.url, { max: 2, onnotice: () => {} });
afterAll(async () => {
  await replicaA.end();
  await replicaB.end();
});

test("a follower on one replica wakes when another replica stores lines for its job", async () => {
  const wakeups = new LogWakeups(replicaA);
  // First wait subscribes; give LISTEN a moment to be in place before measuring.
  await wakeups.wait("warm-up", 200);
  let woke = false;
  const waiting = wakeups.wait("job-42", 30_000).then(() => (woke = true));
  await notifyLog(replicaB, "job-41"); // another job: must not wake it
  await Bun.sleep(200);
  expect(woke).toBe(false);
  await notifyLog(replicaB, "job-42");
  await waiting;
  expect(woke).toBe(true);
});

test("without a notification a wait ends at its fallback time or on abort", async () => {
  const wakeups = new LogWakeups(replicaA);
  const controller = new AbortController();
  let ended = 0;
  const aborted = wakeups.wait("job-quiet", 600_000, controller.signal).then(() => ended++);
  const timed = wakeups.wait("job-quiet", 20).then(() => ended++);
  await timed;
  expect(ended).toBe(1);
  controller.abort();
  await aborted;
  expect(ended).toBe(2);
}, 5_000);
