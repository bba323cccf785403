import * as grpc from "@grpc/grpc-js";
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { testDatabase } from "../testing/postgres.ts";
import { CorndogsClient, parseCorndogsUrl } from "./client.ts";
import { CorndogsError } from "./errors.ts";
import { parseListen } from "./listen-address.ts";
import { queueMigrationFiles } from "./migrations.ts";
import { CORNDOGS_SERVICE_NAME, CorndogsService, HealthService, TaskEventsService } from "./proto.ts";
import { startCorndogsServer } from "./server.ts";
import { startTestQueue } from "./testing.ts";

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "OK",
    (e: unknown) => (e instanceof CorndogsError ? grpc.status[e.code] : String(e)),
  );

describe("token guard", () => {
  test("calls without the token or with a wrong one are UNAUTHENTICATED; the right one passes", async () => {
    const q = await startTestQueue({ token: "s3cret-token" });
    const anonymous = new CorndogsClient(q.server.address);
    const wrong = new CorndogsClient(q.server.address, { token: "s3cret-tokeN" });
    try {
      expect(await codeOf(anonymous.submitTask({}))).toBe("UNAUTHENTICATED");
      expect(await codeOf(anonymous.getQueues())).toBe("UNAUTHENTICATED");
      expect(await codeOf(wrong.getNextTask({}))).toBe("UNAUTHENTICATED");
      expect(await codeOf(wrong.submitTask({}))).toBe("UNAUTHENTICATED");
      expect((await q.client.getQueues()).totalTaskCount).toBe(0n);
      const task = await q.client.submitTask({});
      expect((await q.client.getNextTask({}))?.uuid).toBe(task.uuid);
    } finally {
      anonymous.close();
      wrong.close();
      await q.close();
    }
  });

  test("listening beyond loopback without a token is refused, with a token or explicit permission it starts", async () => {
    const db = await testDatabase("corndogs");
    const refused = await startCorndogsServer({ databaseUrl: db.url, listen: "0.0.0.0:0" }).then(() => "started", (e: unknown) => String(e));
    expect(refused).toMatch(/0\.0\.0\.0 is reachable beyond this machine; set a token \(CORNDOGS_TOKEN\)/);
    const guarded = await startCorndogsServer({ databaseUrl: db.url, listen: "0.0.0.0:0", token: "t0ken" });
    await guarded.close();
    const open = await startCorndogsServer({ databaseUrl: db.url, listen: "0.0.0.0:0", allowRemoteWithoutToken: true });
    await open.close();
  });

  test("a malformed listen address is refused naming the field", async () => {
    expect(() => parseListen("127.0.0.1")).toThrow(/listen: .* is not host:port/);
    expect(() => parseListen("127.0.0.1:99999")).toThrow(/listen/);
    expect(parseListen("[::1]:5080")).toEqual({ host: "::1", port: 5080 });
  });
});

describe("health", () => {
  test("grpc.health.v1.Health answers SERVING for the server and the Corndogs service, NOT_FOUND otherwise", async () => {
    const q = await startTestQueue({ token: "tok" });
    const health = new HealthService(q.server.address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<string>((resolve) =>
        (health as unknown as Record<string, Function>).Check!.call(health, { service }, (error: grpc.ServiceError | null, reply: { status: string }) =>
          resolve(error ? grpc.status[error.code]! : reply.status),
        ),
      );
    try {
      // Probes need no token.
      expect(await check("")).toBe("SERVING");
      expect(await check(CORNDOGS_SERVICE_NAME)).toBe("SERVING");
      expect(await check("no.such.Service")).toBe("NOT_FOUND");
    } finally {
      health.close();
      await q.close();
    }
  });
});

describe("migrations", () => {
  test("every file drizzle-kit wrote is embedded, and migrating again is a no-op", async () => {
    const folder = join(import.meta.dir, "../../schema/migrations/queue");
    const onDisk = readdirSync(folder).filter((f) => f.endsWith(".sql"));
    expect(onDisk.length).toBeGreaterThan(0);
    for (const file of onDisk) expect(Object.keys(queueMigrationFiles)).toContain(file);

    const db = await testDatabase("corndogs");
    const first = await startCorndogsServer({ databaseUrl: db.url, listen: "127.0.0.1:0" });
    await first.close();
    const second = await startCorndogsServer({ databaseUrl: db.url, listen: "127.0.0.1:0" });
    await second.close();
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const applied = await sql`SELECT hash FROM drizzle.__corndogs_migrations`;
      expect(applied.length).toBe(onDisk.length);
    } finally {
      await sql.end();
    }
  });
});

describe("CORNDOGS_URL", () => {
  test("host:port, http:// and https:// forms; garbage is refused naming the variable", () => {
    expect(parseCorndogsUrl("corndogs:5080")).toEqual({ target: "corndogs:5080", tls: false });
    expect(parseCorndogsUrl("http://10.0.0.1:6000")).toEqual({ target: "10.0.0.1:6000", tls: false });
    expect(parseCorndogsUrl("https://queue.example.com")).toEqual({ target: "queue.example.com:443", tls: true });
    expect(() => parseCorndogsUrl("http://a b")).toThrow(/CORNDOGS_URL/);
  });
});

describe("waitForTask", () => {
  test("returns a task submitted while it waits, and rejects when aborted", async () => {
    const q = await startTestQueue();
    try {
      const waiting = q.client.waitForTask({ queue: "w", overrideTimeout: 60 }, { maxDelayMs: 50 });
      await Bun.sleep(120);
      const task = await q.client.submitTask({ queue: "w", payload: "late" });
      const got = await waiting;
      expect(got.uuid).toBe(task.uuid);
      expect(got.currentState).toBe("submitted-working");

      const abort = new AbortController();
      const idle = q.client.waitForTask({ queue: "w" }, { signal: abort.signal });
      setTimeout(() => abort.abort(new Error("worker stopping")), 50);
      // (bun's expect().rejects does not wait for a promise settled later by a timer)
      expect(await idle.then(() => "resolved", (e: unknown) => String(e))).toBe("Error: worker stopping");
    } finally {
      await q.close();
    }
  });

  test("with the embedded server's wake-ups a long pause is cut short by a new task", async () => {
    const q = await startTestQueue();
    try {
      // First poll finds nothing; the next would be 30 s later without a wake-up.
      const started = Date.now();
      const waiting = q.client.waitForTask({ queue: "wake" }, { minDelayMs: 30_000, maxDelayMs: 30_000, wake: q.server.onTask });
      await Bun.sleep(200);
      const task = await q.client.submitTask({ queue: "wake" });
      expect((await waiting).uuid).toBe(task.uuid);
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await q.close();
    }
  });
});

describe("TaskEvents (wake-ups for remote clients)", () => {
  test("a remote client's long pause is cut short by the server's stream; without it the client keeps to its timer", async () => {
    const q = await startTestQueue({ token: "tok" });
    const remote = new CorndogsClient(q.server.address, { token: "tok" });
    try {
      const started = Date.now();
      const waiting = remote.waitForTask({ queue: "remote" }, { minDelayMs: 30_000, maxDelayMs: 30_000 });
      await Bun.sleep(300);
      const task = await q.client.submitTask({ queue: "remote" });
      expect((await waiting).uuid).toBe(task.uuid);
      expect(Date.now() - started).toBeLessThan(20_000);

      // A task in another queue does not end the wait; polling alone (serverWake: false) waits for its timer.
      const abort = new AbortController();
      const polling = remote.waitForTask({ queue: "remote" }, { minDelayMs: 30_000, maxDelayMs: 30_000, serverWake: false, signal: abort.signal });
      await Bun.sleep(300);
      await q.client.submitTask({ queue: "remote" });
      await Bun.sleep(500);
      abort.abort(new Error("still waiting"));
      expect(await polling.then(() => "got it", (e: unknown) => String(e))).toBe("Error: still waiting");
    } finally {
      remote.close();
      await q.close();
    }
  });

  test("against a server without the stream (a real Corndogs answers UNIMPLEMENTED) the client gets its task by polling", async () => {
    // A Corndogs-only server: GetNextTask finds nothing twice, then a task.
    let polls = 0;
    const wire = { uuid: crypto.randomUUID(), queue: "plain", current_state: "submitted-working", auto_target_state: "submitted", submit_time: "1", update_time: "2", timeout: "0", payload: Buffer.from("p"), priority: "0" };
    const plain = new grpc.Server();
    plain.addService(CorndogsService.service, {
      GetNextTask: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { task: ++polls > 2 ? wire : null }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      plain.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new CorndogsClient(`127.0.0.1:${port}`);
    try {
      const got = await client.waitForTask({ queue: "plain" }, { minDelayMs: 20, maxDelayMs: 40 });
      expect(got.uuid).toBe(wire.uuid);
      expect(polls).toBe(3);
      expect((await client.waitForTask({ queue: "plain" }, { minDelayMs: 20 })).uuid).toBe(wire.uuid);
    } finally {
      client.close();
      plain.forceShutdown();
    }
  });

  test("a wake-up polls at once but does not restart the backoff (idle workers that lose the race stay slow)", async () => {
    let polls = 0;
    const plain = new grpc.Server();
    plain.addService(CorndogsService.service, {
      GetNextTask: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => (polls++, callback(null, { task: null })),
    });
    const port = await new Promise<number>((resolve, reject) =>
      plain.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new CorndogsClient(`127.0.0.1:${port}`);
    let fire: (queue: string) => void = () => {};
    const abort = new AbortController();
    try {
      const waiting = client.waitForTask({ queue: "q" }, { minDelayMs: 5, maxDelayMs: 400, signal: abort.signal, wake: (l) => ((fire = l), () => {}) });
      await Bun.sleep(900); // backed off to its 400 ms pause
      const before = polls;
      fire("q");
      for (let i = 0; i < 50 && polls === before; i++) await Bun.sleep(5);
      expect(polls).toBe(before + 1); // polled at once, not on its timer
      await Bun.sleep(300);
      // Restarting at 5 ms would have polled about six more times by now.
      expect(polls - before).toBeLessThanOrEqual(2);
      abort.abort(new Error("done"));
      await waiting.catch(() => {});
    } finally {
      client.close();
      plain.forceShutdown();
    }
  });

  test("the stream needs the token", async () => {
    const q = await startTestQueue({ token: "tok" });
    const events = new TaskEventsService(q.server.address, grpc.credentials.createInsecure());
    try {
      const code = await new Promise<string>((resolve) => {
        const stream = (events as unknown as Record<string, Function>).WatchTasks!.call(events, { queues: [] }) as grpc.ClientReadableStream<unknown>;
        stream.on("data", () => resolve("data"));
        stream.on("error", (e: grpc.ServiceError) => resolve(grpc.status[e.code]!));
      });
      expect(code).toBe("UNAUTHENTICATED");
    } finally {
      events.close();
      await q.close();
    }
  });
});

describe("wake-ups across servers", () => {
  test("a consumer of one server hears, through LISTEN/NOTIFY, a task submitted through another on the same database", async () => {
    const db = await testDatabase("corndogs");
    const a = await startCorndogsServer({ databaseUrl: db.url, listen: "127.0.0.1:0" });
    const b = await startCorndogsServer({ databaseUrl: db.url, listen: "127.0.0.1:0" });
    const client = new CorndogsClient(a.address);
    try {
      const heard: string[] = [];
      b.onTask((queue) => heard.push(queue));
      await Bun.sleep(200); // LISTEN is in place
      await client.submitTask({ queue: "across" });
      for (let i = 0; i < 100 && heard.length === 0; i++) await Bun.sleep(20);
      expect(heard).toEqual(["across"]);
    } finally {
      client.close();
      await a.close();
      await b.close();
    }
  });
});
