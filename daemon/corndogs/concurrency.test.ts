import { expect, test } from "bun:test";
import postgres from "postgres";
import { CorndogsClient } from "./client.ts";
import { startTestQueue } from "./testing.ts";

test("8 concurrent consumers drain 3,000 tasks, every task delivered exactly once", async () => {
  const q = await startTestQueue({ poolSize: 12 });
  // Each consumer races the others hundreds of times; 10,000 tasks took over 60 s at load 11.
  const TASKS = 3_000;
  const CONSUMERS = 8;
  try {
    const submitted = new Set<string>();
    for (let start = 0; start < TASKS; start += 200) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(200, TASKS - start) }, (_, i) => q.client.submitTask({ queue: "drain", payload: String(start + i) })),
      );
      for (const t of batch) submitted.add(t.uuid);
    }
    expect(submitted.size).toBe(TASKS);

    const seen: string[] = [];
    const payloads = new Set<string>();
    const consumer = async () => {
      // Each consumer has its own channel, as separate worker processes would.
      const c = new CorndogsClient(q.server.address);
      let mine = 0;
      try {
        for (;;) {
          const task = await c.getNextTask({ queue: "drain", overrideTimeout: 300 });
          if (!task) return mine;
          seen.push(task.uuid);
          payloads.add(task.payload.toString());
          expect(await c.completeTask({ uuid: task.uuid, currentState: task.currentState })).toBeDefined();
          mine++;
        }
      } finally {
        c.close();
      }
    };
    const perConsumer = await Promise.all(Array.from({ length: CONSUMERS }, consumer));

    expect(seen.length).toBe(TASKS);
    expect(new Set(seen).size).toBe(TASKS);
    expect([...seen].every((u) => submitted.has(u))).toBe(true);
    expect(payloads.size).toBe(TASKS);
    // Every consumer got work: the claims really ran side by side.
    expect(perConsumer.every((n) => n > 0)).toBe(true);
    expect((await q.client.getQueueTaskCounts()).totalTaskCount).toBe(0n);
    const sql = postgres(q.databaseUrl, { max: 1 });
    try {
      const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM corndogs_archived_tasks WHERE current_state = 'completed'`;
      expect(Number(row!.n)).toBe(TASKS);
    } finally {
      await sql.end();
    }
  } finally {
    await q.close();
  }
}, 60_000);
