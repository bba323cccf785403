import * as grpc from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { CorndogsClient } from "./client.ts";
import { CorndogsError } from "./errors.ts";
import { CorndogsService } from "./proto.ts";
import { startTestQueue } from "./testing.ts";

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as CorndogsError,
  );

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("StreamTasks", () => {
  test("pushes no more tasks than the credit granted, claimed as GetNextTask claims; completions answer as CompleteTask", async () => {
    const q = await startTestQueue();
    const stream = q.client.openTaskStream({ queue: "s", overrideTimeout: 60 });
    try {
      const submitted = [];
      for (const payload of ["a", "b", "c"]) submitted.push(await q.client.submitTask({ queue: "s", payload }));
      const [first, second] = await Promise.all([stream.next(), stream.next()]);
      expect([first!.payload.toString(), second!.payload.toString()]).toEqual(["a", "b"]);
      expect(first).toMatchObject({ currentState: "submitted-working", autoTargetState: "submitted", timeout: 60n });
      // Two of credit: the third stays waiting, claimable by anyone.
      await Bun.sleep(100);
      expect((await q.client.getTaskStateCounts("s")).states).toEqual({ "submitted-working": 2n, submitted: 1n });

      const done = await stream.complete(first!);
      expect(done).toMatchObject({ uuid: first!.uuid, currentState: "completed" });
      // Exactly once: completing again finds no live task, as CompleteTask answers.
      expect(await stream.complete(first!)).toBeUndefined();
      const stale = await errorOf(stream.complete({ uuid: second!.uuid, currentState: "submitted" }));
      expect(stale?.code).toBe(status.FAILED_PRECONDITION);
      expect((await errorOf(stream.complete({ uuid: "not-a-uuid" })))?.code).toBe(status.INVALID_ARGUMENT);

      // Completing and asking for the next go as one message; the third task comes on it.
      const [, third] = await Promise.all([stream.complete(second!), stream.next()]);
      expect(third.uuid).toBe(submitted[2]!.uuid);
      await stream.complete(third);
      expect((await q.client.getTaskStateCounts("s")).count).toBe(0n);
    } finally {
      await stream.close();
      await q.close();
    }
  });

  test("a consumer waiting on an empty queue gets a task submitted later, pushed without polling it", async () => {
    const q = await startTestQueue();
    const stream = q.client.openTaskStream({ queue: "later" });
    try {
      const waiting = stream.next();
      await Bun.sleep(1200); // the server's fallback re-claim has backed off to its 500 ms pause
      const started = performance.now();
      const task = await q.client.submitTask({ queue: "later", payload: "x" });
      const got = await waiting;
      expect(got.uuid).toBe(task.uuid);
      // Woken by the submit, not by the next fallback claim.
      expect(performance.now() - started).toBeLessThan(400);
      await stream.complete(got);
    } finally {
      await stream.close();
      await q.close();
    }
  });

  test("8 streams drain 2,000 tasks, every task delivered to one consumer once", async () => {
    const q = await startTestQueue({ poolSize: 12 });
    const TASKS = 2_000;
    try {
      for (let start = 0; start < TASKS; start += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, i) => q.client.submitTask({ queue: "drain", payload: String(start + i) })));
      }
      let budget = TASKS;
      const seen: string[] = [];
      const consumer = async () => {
        const client = new CorndogsClient(q.server.address);
        const stream = client.openTaskStream({ queue: "drain", overrideTimeout: 300 });
        let mine = 0;
        try {
          let task = budget-- > 0 ? await stream.next() : undefined;
          while (task) {
            seen.push(task.uuid);
            mine++;
            const [done, next] = await Promise.all([stream.complete(task), budget-- > 0 ? stream.next() : undefined]);
            expect(done?.currentState).toBe("completed");
            task = next;
          }
          return mine;
        } finally {
          await stream.close();
          client.close();
        }
      };
      const perConsumer = await Promise.all(Array.from({ length: 8 }, consumer));
      expect(seen.length).toBe(TASKS);
      expect(new Set(seen).size).toBe(TASKS);
      expect(perConsumer.every((n) => n > 0)).toBe(true);
      expect((await q.client.getQueueTaskCounts()).totalTaskCount).toBe(0n);
    } finally {
      await q.close();
    }
  }, 60_000);

  test("a consumer process killed with tasks in hand: they stay claimed until their lease, then the sweep gives them to another", async () => {
    const q = await startTestQueue();
    const a = await q.client.submitTask({ queue: "kill", payload: "a" });
    const b = await q.client.submitTask({ queue: "kill", payload: "b" });
    // A real consumer process: takes both tasks on a stream with a 3 s lease, says which, then hangs.
    const code = `
      const { CorndogsClient } = await import(${JSON.stringify(join(import.meta.dir, "client.ts"))});
      const stream = new CorndogsClient(${JSON.stringify(q.server.address)}).openTaskStream({ queue: "kill", overrideTimeout: 3 });
      const tasks = await Promise.all([stream.next(), stream.next()]);
      console.log(tasks.map((t) => t.uuid).sort().join(" "));
      await new Promise(() => {});`;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "inherit" });
    const other = q.client.openTaskStream({ queue: "kill", overrideTimeout: 60 });
    try {
      const reader = child.stdout.getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the consumer exited (${await child.exited}) before taking its tasks`);
        line += new TextDecoder().decode(value);
      }
      expect(line.trim()).toBe([a.uuid, b.uuid].sort().join(" "));
      child.kill("SIGKILL");
      await child.exited;

      const held = (await q.client.getTaskStateById(a.uuid))!;
      expect(held).toMatchObject({ currentState: "submitted-working", timeout: 3n });
      // Dead, but its lease holds: nobody else gets them, the sweep before the deadline frees nothing.
      const early = new AbortController();
      setTimeout(() => early.abort(new Error("nothing yet")), 300);
      expect(String(await errorOf(other.next(early.signal)))).toContain("nothing yet");
      expect(await q.client.cleanUpTimedOut({ queue: "kill", atTime: held.updateTime + 2_000_000_000n })).toBe(0n);

      // After the lease the sweeper puts them back, and the other consumer (its credit still granted) gets both.
      // The two claims were made a moment apart, so one sweep may free one and the next the other.
      let swept = 0n;
      await until("the lease to run out", async () => ((swept += await q.client.cleanUpTimedOut({ queue: "kill" })) === 2n ? true : undefined));
      const again = [await other.next(), await other.next()];
      expect(again.map((t) => t.payload.toString()).sort()).toEqual(["a", "b"]);
      for (const t of again) expect((await other.complete(t))?.currentState).toBe("completed");
      expect((await q.client.getTaskStateCounts("kill")).count).toBe(0n);
    } finally {
      child.kill("SIGKILL");
      await other.close();
      await q.close();
    }
  }, 30_000);

  test("a task pushed after its next() was aborted goes back to the queue when the stream closes", async () => {
    const q = await startTestQueue();
    const stream = q.client.openTaskStream({ queue: "back", overrideTimeout: 60 });
    try {
      const abort = new AbortController();
      const gaveUp = errorOf(stream.next(abort.signal));
      await Bun.sleep(50);
      abort.abort(new Error("slot stopped"));
      expect(String(await gaveUp)).toContain("slot stopped");
      const task = await q.client.submitTask({ queue: "back", payload: "p" });
      // The credit stayed granted: the server claims it for this stream.
      await until("the claim", async () => ((await q.client.getTaskStateById(task.uuid))?.currentState === "submitted-working" ? true : undefined));
      await stream.close();
      expect(await q.client.getTaskStateById(task.uuid)).toMatchObject({ currentState: "submitted", autoTargetState: "submitted-working" });
      expect((await q.client.getNextTask({ queue: "back" }))?.uuid).toBe(task.uuid);
    } finally {
      await stream.close();
      await q.close();
    }
  });

  test("needs the token", async () => {
    const q = await startTestQueue({ token: "tok" });
    const anonymous = new CorndogsClient(q.server.address);
    const wrong = new CorndogsClient(q.server.address, { token: "tok2" });
    const stream = q.client.openTaskStream({ queue: "auth" });
    try {
      await q.client.submitTask({ queue: "auth" });
      for (const c of [anonymous, wrong]) {
        const refused = c.openTaskStream({ queue: "auth" });
        expect((await errorOf(refused.next()))?.code).toBe(status.UNAUTHENTICATED);
        await refused.close();
      }
      expect((await stream.next()).queue).toBe("auth");
    } finally {
      await stream.close();
      anonymous.close();
      wrong.close();
      await q.close();
    }
  });

  test("a server without StreamTasks (a real Corndogs) answers UNIMPLEMENTED; GetNextTask still works there", async () => {
    const plain = new grpc.Server();
    plain.addService(CorndogsService.service, {
      GetNextTask: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { task: null }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      plain.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new CorndogsClient(`127.0.0.1:${port}`);
    try {
      const stream = client.openTaskStream({ queue: "x" });
      expect((await errorOf(stream.next()))?.code).toBe(status.UNIMPLEMENTED);
      await stream.close();
      expect(await client.getNextTask({ queue: "x" })).toBeUndefined();
    } finally {
      client.close();
      plain.forceShutdown();
    }
  });

  test("the server's shutdown ends open streams (it does not wait on them) and their consumers see it", async () => {
    const q = await startTestQueue();
    const stream = q.client.openTaskStream({ queue: "bye" });
    const waiting = errorOf(stream.next());
    await Bun.sleep(50);
    await q.close();
    expect((await waiting)?.code).toBe(status.UNAVAILABLE);
    await stream.close();
  });
});
