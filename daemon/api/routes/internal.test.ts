import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { buildApp } from "../app.ts";
import { masterKey } from "../../secrets/cipher.ts";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
let worker: string;
beforeAll(async () => {
  api = await testApi();
  await api.call("POST", "/api/v1/projects", { body: { name: "int", default_image: "busybox" } });
  await api.call("PUT", "/api/v1/projects/int/secrets/API_KEY", { body: { value: "key-123456" } });
  await api.call("PUT", "/api/v1/projects/int/secrets/OTHER", { body: { value: "not-asked-for" } });
  worker = await api.tokenFor("worker-b", { worker: true });
});
afterAll(() => api?.close());

const submit = async (body: Record<string, unknown> = {}) =>
  (await api.call("POST", "/api/v1/jobs", { body: { name: "i", command: "true", project: "int", ...body } })).json;
const internal = (method: string, path: string, body?: unknown, token: string | null = worker) =>
  api.call(method, `/api/v1/internal${path}`, { token, body });

describe("internal worker endpoints", () => {
  test("status: queued → running → success records times, exit code and worker", async () => {
    const job = await submit();
    const run = await internal("POST", `/jobs/${job.id}/status`, { status: "running", worker_id: "w-1" });
    expect(run.status).toBe(200);
    expect(run.json).toMatchObject({ status: "running", worker_id: "w-1" });
    expect(run.json.started_at).toBeString();
    const done = await internal("POST", `/jobs/${job.id}/status`, { status: "success", exit_code: 0, reason: "exit 0" });
    expect(done.json).toMatchObject({ status: "success", exit_code: 0, reason: "exit 0" });
    expect(done.json.finished_at).toBeString();
    const seen = await internal("GET", `/jobs/${job.id}`);
    expect(seen.json.status).toBe("success");
  });

  test("status: every move outside the machine is 409, and the database refuses it too", async () => {
    const job = await submit();
    for (const bad of ["success", "failure", "timed_out"]) {
      const r = await internal("POST", `/jobs/${job.id}/status`, { status: bad });
      expect(r.status).toBe(409);
    }
    await internal("POST", `/jobs/${job.id}/status`, { status: "running" });
    expect((await internal("POST", `/jobs/${job.id}/status`, { status: "running" })).status).toBe(409);
    await internal("POST", `/jobs/${job.id}/status`, { status: "timed_out" });
    for (const bad of ["running", "success", "cancelled"]) {
      expect((await internal("POST", `/jobs/${job.id}/status`, { status: bad })).status).toBe(409);
    }
    // Even a direct UPDATE cannot move an ended job (trigger from the migration).
    await expect(api.sql`UPDATE jobs SET status = 'queued' WHERE id = ${job.id}`).rejects.toThrow(/cannot move from timed_out to queued/);
    await expect(api.sql`UPDATE jobs SET status = 'running' WHERE id = ${job.id}`).rejects.toThrow(/cannot move/);
  });

  test("status: a job's end carries its step results; the job shows them, a bad one is 400 naming the field", async () => {
    const job = await submit();
    expect(job.step_results).toBeNull();
    await internal("POST", `/jobs/${job.id}/status`, { status: "running", worker_id: "w-1" });
    const step = { name: "unit", status: "failure", exit_code: 2, duration_ms: 1234, started_at: "2026-12-02T01:00:00.000Z", timed_out: false, continued_on_error: false, reason: null };
    const bad = await internal("POST", `/jobs/${job.id}/status`, { status: "failure", exit_code: 2, step_results: [{ ...step, status: "exploded" }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toStartWith("step_results");
    expect((await api.call("GET", `/api/v1/jobs/${job.id}`)).json.status).toBe("running");
    const done = await internal("POST", `/jobs/${job.id}/status`, { status: "failure", exit_code: 2, step_results: [{ ...step, name: "build", status: "success", exit_code: 0 }, step] });
    expect(done.status).toBe(200);
    const seen = (await api.call("GET", `/api/v1/jobs/${job.id}`)).json;
    expect(seen.step_results).toEqual([{ ...step, name: "build", status: "success", exit_code: 0 }, step]);
  });

  test("status: bad values are 400 naming the field; unknown job 404", async () => {
    const job = await submit();
    const r = await internal("POST", `/jobs/${job.id}/status`, { status: "queued" });
    expect(r.status).toBe(400);
    expect(r.json.error.field).toBe("status");
    const code = await internal("POST", `/jobs/${job.id}/status`, { status: "running", exit_code: 999 });
    expect(code.json.error.field).toBe("exit_code");
    expect((await internal("POST", `/jobs/${crypto.randomUUID()}/status`, { status: "running" })).status).toBe(404);
    expect((await internal("POST", `/jobs/${job.id}/status`, "{")).status).toBe(400);
  });

  test("logs: batches are numbered in order, also when sent concurrently", async () => {
    const job = await submit();
    const batches = Array.from({ length: 10 }, (_, b) => ({ lines: Array.from({ length: 20 }, (_, i) => ({ line: `b${b}-${i}` })) }));
    const results = await Promise.all(batches.map((body) => internal("POST", `/jobs/${job.id}/logs`, body)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.map((r) => r.json.last_seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 20));
    const text = (await api.call("GET", `/api/v1/jobs/${job.id}/logs`)).text.trimEnd().split("\n");
    expect(text).toHaveLength(200);
    // Each batch stays contiguous.
    for (let b = 0; b < 10; b++) {
      const start = text.indexOf(`b${b}-0`);
      expect(text.slice(start, start + 20)).toEqual(batches[b]!.lines.map((l) => l.line));
    }
  });

  test("logs: a batch sent again at its offset is stored once, an overlapping one only for its new lines, a gap is 409", async () => {
    const job = await submit();
    const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ line: `w${from + i}` }));
    const first = await internal("POST", `/jobs/${job.id}/logs`, { offset: 0, lines: lines(0, 3) });
    expect(first.json).toEqual({ appended: 3, last_seq: 3, shipped: 3 });
    // The answer was lost and the worker sends it again: acknowledged, not stored twice.
    expect((await internal("POST", `/jobs/${job.id}/logs`, { offset: 0, lines: lines(0, 3) })).json).toEqual({ appended: 0, last_seq: 3, shipped: 3 });
    // The coordinator's own line (no offset) goes in between without moving the worker's count.
    expect((await internal("POST", `/jobs/${job.id}/logs`, { lines: [{ stream: "system", line: "from the coordinator" }] })).json).toEqual({ appended: 1, last_seq: 4, shipped: 3 });
    // Cut differently the second time: only the lines after what is stored.
    expect((await internal("POST", `/jobs/${job.id}/logs`, { offset: 1, lines: lines(1, 5) })).json).toEqual({ appended: 2, last_seq: 6, shipped: 5 });
    // Lines 5 and 6 never came: storing 7.. would leave a hole in the log.
    const gap = await internal("POST", `/jobs/${job.id}/logs`, { offset: 7, lines: lines(7, 8) });
    expect(gap.status).toBe(409);
    expect(gap.json.error).toMatchObject({ code: "conflict", field: "offset" });
    expect(gap.json.error.message).toContain("5 lines");
    expect((await internal("POST", `/jobs/${job.id}/logs`, { offset: -1, lines: lines(0, 1) })).json.error.field).toBe("offset");
    const text = (await api.call("GET", `/api/v1/jobs/${job.id}/logs`)).text.trimEnd().split("\n");
    expect(text).toEqual(["w0", "w1", "w2", "[reactorcide] from the coordinator", "w3", "w4"]);
  });

  test("logs: batches sent at once, each at its offset, are stored in offset order whichever arrives first", async () => {
    const job = await submit();
    const batches = Array.from({ length: 8 }, (_, b) => ({ offset: b * 50, lines: Array.from({ length: 50 }, (_, i) => ({ line: `l${b * 50 + i}` })) }));
    // Last first: each waits at the coordinator for its predecessor instead of leaving a gap.
    const results = await Promise.all([...batches].reverse().map((body) => internal("POST", `/jobs/${job.id}/logs`, body)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    const text = (await api.call("GET", `/api/v1/jobs/${job.id}/logs`)).text.trimEnd().split("\n");
    expect(text).toEqual(Array.from({ length: 400 }, (_, i) => `l${i}`));
  });

  test("logs: empty or bad batches are 400 naming the field; unknown job 404", async () => {
    const job = await submit();
    expect((await internal("POST", `/jobs/${job.id}/logs`, { lines: [] })).json.error.field).toBe("lines");
    expect((await internal("POST", `/jobs/${job.id}/logs`, { lines: [{ line: "x", stream: "tty" }] })).json.error.field).toBe("lines.0.stream");
    expect((await internal("POST", `/jobs/${crypto.randomUUID()}/logs`, { lines: [{ line: "x" }] })).status).toBe(404);
  });

  test("secrets under a replaced master key: a 500 that says so, never a value", async () => {
    const job = await submit({ secrets: ["API_KEY"] });
    await internal("POST", `/jobs/${job.id}/status`, { status: "running" });
    const { app } = buildApp({ ...api.deps, key: masterKey(randomBytes(32)) });
    const response = await app.handle(
      new Request(`http://local/api/v1/internal/jobs/${job.id}/secrets`, { headers: { authorization: `Bearer ${worker}` } }),
    );
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(JSON.parse(text).error.code).toBe("secrets_unreadable");
    expect(JSON.parse(text).error.message).toContain("cannot be decrypted with this coordinator's master key");
    expect(text).not.toContain("key-123456");
    await internal("POST", `/jobs/${job.id}/status`, { status: "cancelled" });
  });

  test("secrets: only the job's own secrets, only while it runs, only for worker tokens", async () => {
    const job = await submit({ secrets: ["API_KEY"] });
    const early = await internal("GET", `/jobs/${job.id}/secrets`);
    expect(early.status).toBe(409);
    await internal("POST", `/jobs/${job.id}/status`, { status: "running" });
    const got = await internal("GET", `/jobs/${job.id}/secrets`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ secrets: { API_KEY: "key-123456" } });
    // Not for the admin's own API token, nor without a token.
    expect((await internal("GET", `/jobs/${job.id}/secrets`, undefined, api.admin)).status).toBe(403);
    expect((await internal("GET", `/jobs/${job.id}/secrets`, undefined, null)).status).toBe(401);
    await internal("POST", `/jobs/${job.id}/status`, { status: "success", exit_code: 0 });
    expect((await internal("GET", `/jobs/${job.id}/secrets`)).status).toBe(409);
    expect((await internal("GET", `/jobs/${crypto.randomUUID()}/secrets`)).status).toBe(404);
    const audit = await api.sql`SELECT details FROM audit_log WHERE action = 'secret.resolve' AND target_id = ${job.id}`;
    expect(audit[0]!.details).toEqual({ keys: ["API_KEY"] });
  });

  test("start: queued → running in one round trip, answered with the job (secret_env whole), its secrets and a token only when asked", async () => {
    const job = await submit({ secrets: ["API_KEY"], env: { PASSED: "parent-secret" } });
    await api.sql`UPDATE jobs SET secret_env_names = ${JSON.stringify(["PASSED"])}::jsonb WHERE id = ${job.id}`;
    const started = await internal("POST", `/jobs/${job.id}/start`, { worker_id: "w-start", image: "worker-default:1", token: true });
    expect(started.status).toBe(200);
    expect(started.json.job).toMatchObject({ id: job.id, status: "running", worker_id: "w-start", image: "busybox", env: { PASSED: "parent-secret" } });
    expect(started.json.job.started_at).toBeString();
    expect(started.json.secrets).toEqual({ API_KEY: "key-123456" });
    expect(started.json.secrets_error).toBeUndefined();
    // The token is the job's own: it reads its job, and nothing of the worker's API.
    const token: string = started.json.token.token;
    expect(Date.parse(started.json.token.expires_at)).toBeGreaterThan(Date.now());
    expect((await api.call("GET", `/api/v1/jobs/${job.id}`, { token })).status).toBe(200);
    expect((await internal("GET", `/jobs/${job.id}`, undefined, token)).status).toBe(403);
    const audit = await api.sql`SELECT details FROM audit_log WHERE action = 'secret.resolve' AND target_id = ${job.id}`;
    expect(audit.map((a) => a.details)).toEqual([{ keys: ["API_KEY"] }]);
    // Taken already: 409, and nothing handed out again.
    const again = await internal("POST", `/jobs/${job.id}/start`, { worker_id: "w-other", image: "worker-default:1", token: true });
    expect(again.status).toBe(409);
    expect(again.text).not.toContain("key-123456");
    expect((await internal("POST", `/jobs/${crypto.randomUUID()}/start`, { worker_id: "w-start", image: "busybox" })).status).toBe(404);
    expect((await internal("POST", `/jobs/${job.id}/start`, { image: "busybox" })).json.error.field).toBe("worker_id");
    expect((await internal("POST", `/jobs/${job.id}/start`, { worker_id: "w-start", image: "busybox" }, api.admin)).status).toBe(403);
    // A second job's token: its own, and the job tokens' user row is not written again for it.
    const [before] = await api.sql`SELECT xmin::text AS v FROM users WHERE name = 'reactorcide-jobs'`;
    const other = await submit();
    const second = await internal("POST", `/jobs/${other.id}/start`, { worker_id: "w-start", image: "busybox", token: true });
    expect((await api.call("GET", `/api/v1/jobs/${other.id}`, { token: second.json.token.token })).status).toBe(200);
    expect((await api.call("GET", `/api/v1/jobs/${job.id}`, { token: second.json.token.token })).status).toBe(404);
    const [after] = await api.sql`SELECT xmin::text AS v FROM users WHERE name = 'reactorcide-jobs'`;
    expect(after!.v).toBe(before!.v);
    // No token unless asked; the worker's default image when the job names none.
    const plain = await submit();
    await api.sql`UPDATE jobs SET image = NULL WHERE id = ${plain.id}`;
    const taken = await internal("POST", `/jobs/${plain.id}/start`, { worker_id: "w-start", image: "worker-default:1" });
    expect(taken.json.token).toBeUndefined();
    expect(taken.json.secrets).toEqual({});
    expect(taken.json.job.image).toBe("worker-default:1");
  });

  test("start under a replaced master key: the job is running, the answer says why its secrets cannot be read, never a value", async () => {
    const job = await submit({ secrets: ["API_KEY"] });
    const { app } = buildApp({ ...api.deps, key: masterKey(randomBytes(32)) });
    const response = await app.handle(
      new Request(`http://local/api/v1/internal/jobs/${job.id}/start`, {
        method: "POST",
        headers: { authorization: `Bearer ${worker}`, "content-type": "application/json" },
        body: JSON.stringify({ worker_id: "w-start", image: "busybox" }),
      }),
    );
    const text = await response.text();
    expect(response.status).toBe(200);
    const body = JSON.parse(text);
    expect(body.job.status).toBe("running");
    expect(body.secrets).toEqual({});
    expect(body.secrets_error).toContain("cannot be decrypted with this coordinator's master key");
    expect(text).not.toContain("key-123456");
    await internal("POST", `/jobs/${job.id}/status`, { status: "error", reason: "secrets" });
  });

  test("heartbeat registers and refreshes a worker", async () => {
    expect((await internal("POST", "/workers/heartbeat", { id: "node-1", slots: 4, labels: { runtime: "docker" } })).status).toBe(200);
    await internal("POST", "/workers/heartbeat", { id: "node-1", slots: 2 });
    const rows = await api.sql`SELECT slots FROM workers WHERE id = 'node-1'`;
    expect(rows[0]!.slots).toBe(2);
    expect((await internal("POST", "/workers/heartbeat", { id: "bad id!" })).json.error.field).toBe("id");
  });
});
