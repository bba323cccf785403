import { archivedText } from "../../storage/log-archive.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
let worker: string;
beforeAll(async () => {
  api = await testApi({ accessRecheckMs: 100 });
  await api.call("POST", "/api/v1/projects", { body: { name: "svc", default_image: "busybox:1" } });
  await api.call("POST", "/api/v1/projects", { body: { name: "bare" } });
  worker = await api.tokenFor("worker-a", { worker: true });
});
afterAll(() => api?.close());

const submit = (body: Record<string, unknown>, token?: string | null) => api.call("POST", "/api/v1/jobs", { body, token });
const status = (id: string, body: Record<string, unknown>) => api.call("POST", `/api/v1/internal/jobs/${id}/status`, { token: worker, body });

describe("job submission", () => {
  test("201 with the queued job; image defaults to the project's", async () => {
    const r = await submit({
      name: "build",
      command: "make test",
      project: "svc",
      env: { CI: "true" },
      source: { type: "git", url: "https://example.com/r.git", ref: "main" },
      timeout: 600,
      priority: 5,
      resources: { cpu: 1.5, memory: "512m" },
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: "build", status: "queued", image: "busybox:1", priority: 5, timeout: 600, attempt: 1, env: { CI: "true" } });
    expect(r.json.id).toMatch(/^[0-9a-f-]{36}$/);
    const got = await api.call("GET", `/api/v1/jobs/${r.json.id}`);
    expect(got.json.source).toEqual({ type: "git", url: "https://example.com/r.git", ref: "main" });
  });

  test("a multi-line env value (a config snippet) is accepted and kept exactly", async () => {
    const value = "line one\n  line \"two\"\r\nthree\\";
    const r = await submit({ name: "multi", command: "true", project: "svc", env: { CONFIG: value } });
    expect(r.status).toBe(201);
    expect((await api.call("GET", `/api/v1/jobs/${r.json.id}`)).json.env).toEqual({ CONFIG: value });
  });

  test("an explicit image wins; in a project without a default image a job without one is accepted with image null (the worker's default applies)", async () => {
    expect((await submit({ name: "a", command: "true", project: "svc", image: "alpine:3" })).json.image).toBe("alpine:3");
    const r = await submit({ name: "a", command: "true", project: "bare" });
    expect(r.status).toBe(201);
    expect(r.json.image).toBeNull();
  });

  test("network, retries and untrusted are accepted and returned, with their defaults; out-of-range values are 400 naming the field", async () => {
    const plain = await submit({ name: "d", command: "true", project: "svc" });
    expect(plain.json).toMatchObject({ network: "default", retries: 0, untrusted: false });
    const asked = await submit({ name: "d", command: "true", project: "svc", network: "none", retries: 2, untrusted: true });
    expect(asked.status).toBe(201);
    expect(asked.json).toMatchObject({ network: "none", retries: 2, untrusted: true });
    expect((await api.call("GET", `/api/v1/jobs/${asked.json.id}`)).json).toMatchObject({ network: "none", retries: 2, untrusted: true });
    for (const [body, field] of [
      [{ network: "host" }, "network"],
      [{ retries: 6 }, "retries"],
      [{ retries: -1 }, "retries"],
      [{ untrusted: "no" }, "untrusted"],
    ] as const) {
      const r = await submit({ name: "d", command: "true", project: "svc", ...body });
      expect(r.status).toBe(400);
      expect(r.json.error.field).toBe(field);
    }
  });

  test("untrusted is never lifted: a child of an untrusted job is untrusted although it asks for false, and a retry keeps it", async () => {
    const parent = (await submit({ name: "p", command: "true", project: "svc", untrusted: true })).json;
    const child = await submit({ name: "c", command: "true", project: "svc", untrusted: false, parent_job_id: parent.id });
    expect(child.json.untrusted).toBe(true);
    await api.call("POST", `/api/v1/jobs/${parent.id}/cancel`);
    const retry = await api.call("POST", `/api/v1/jobs/${parent.id}/retry`);
    expect(retry.json).toMatchObject({ untrusted: true, attempt: 2 });
  });

  test("validation names the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ command: "true", project: "svc" }, "name"],
      [{ name: "a b", command: "true", project: "svc" }, "name"],
      [{ name: "a", project: "svc" }, "command"],
      [{ name: "a", command: "", project: "svc" }, "command"],
      [{ name: "a", command: "true" }, "project"],
      [{ name: "a", command: "true", project: "svc", timeout: 0 }, "timeout"],
      [{ name: "a", command: "true", project: "svc", timeout: 1.5 }, "timeout"],
      [{ name: "a", command: "true", project: "svc", priority: "high" }, "priority"],
      [{ name: "a", command: "true", project: "svc", env: { "BAD-NAME": "x" } }, "env.BAD-NAME"],
      [{ name: "a", command: "true", project: "svc", env: { OK: 1 } }, "env.OK"],
      [{ name: "a", command: "true", project: "svc", source: { type: "svn" } }, "source.type"],
      [{ name: "a", command: "true", project: "svc", resources: { memory: "lots" } }, "resources.memory"],
      [{ name: "a", command: "true", project: "svc", secrets: ["NOT_THERE"] }, "secrets"],
      [{ name: "a", command: "true", project: "svc", privileged: true }, "privileged"],
    ];
    for (const [body, field] of cases) {
      const r = await submit(body);
      expect({ field, status: r.status }).toEqual({ field, status: 400 });
      expect(r.json.error.field).toBe(field);
    }
  });

  test("an unknown project is 404 naming the field; malformed JSON 400; too big 413; no token 401", async () => {
    const r = await submit({ name: "a", command: "true", project: "nope" });
    expect(r.status).toBe(404);
    expect(r.json.error.field).toBe("project");
    expect((await api.call("POST", "/api/v1/jobs", { body: "{{" })).status).toBe(400);
    expect((await submit({ name: "a", command: "x".repeat(1_200_000), project: "svc" })).status).toBe(413);
    expect((await submit({ name: "a", command: "true", project: "svc" }, null)).status).toBe(401);
  });

  test("roles: readers cannot submit (403), writers can; strangers cannot see jobs (404)", async () => {
    const reader = await api.tokenFor("jreader");
    const writer = await api.tokenFor("jwriter");
    const stranger = await api.tokenFor("jstranger");
    await api.call("PUT", "/api/v1/projects/svc/members/jreader", { body: { role: "read" } });
    await api.call("PUT", "/api/v1/projects/svc/members/jwriter", { body: { role: "write" } });
    expect((await submit({ name: "a", command: "true", project: "svc" }, reader)).status).toBe(403);
    const ok = await submit({ name: "by-writer", command: "true", project: "svc" }, writer);
    expect(ok.status).toBe(201);
    expect((await api.call("GET", `/api/v1/jobs/${ok.json.id}`, { token: reader })).status).toBe(200);
    expect((await api.call("POST", `/api/v1/jobs/${ok.json.id}/cancel`, { token: reader })).status).toBe(403);
    expect((await api.call("GET", `/api/v1/jobs/${ok.json.id}`, { token: stranger })).status).toBe(404);
    expect((await api.call("GET", `/api/v1/jobs/${ok.json.id}/logs`, { token: stranger })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/jobs", { token: stranger })).json.jobs).toEqual([]);
  });

  test("project secrets named by the job must exist", async () => {
    await api.call("PUT", "/api/v1/projects/svc/secrets/TOKEN", { body: { value: "tok-value" } });
    const r = await submit({ name: "s", command: "true", project: "svc", secrets: ["TOKEN"] });
    expect(r.status).toBe(201);
    expect(r.json.secrets).toEqual(["TOKEN"]);
  });
});

describe("listing", () => {
  test("filters by project, status and name; pages with limit and offset, newest first", async () => {
    await api.call("POST", "/api/v1/projects", { body: { name: "lists", default_image: "busybox" } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit({ name: "paged", command: `echo ${i}`, project: "lists" })).json.id);
    await api.call("POST", `/api/v1/jobs/${ids[0]}/cancel`);
    const page1 = await api.call("GET", "/api/v1/jobs?project=lists&limit=2");
    expect(page1.status).toBe(200);
    expect(page1.json.jobs.map((j: { id: string }) => j.id)).toEqual([ids[4], ids[3]]);
    expect(page1.json.next_offset).toBe(2);
    const page3 = await api.call("GET", "/api/v1/jobs?project=lists&limit=2&offset=4");
    expect(page3.json.jobs.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
    expect(page3.json.next_offset).toBeNull();
    const cancelled = await api.call("GET", "/api/v1/jobs?project=lists&status=cancelled");
    expect(cancelled.json.jobs.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
    const named = await api.call("GET", "/api/v1/jobs?name=paged");
    expect(named.json.jobs).toHaveLength(5);
  });

  test("bad filters are 400 naming the parameter; an unknown project is 404", async () => {
    const bad = await api.call("GET", "/api/v1/jobs?status=done");
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe("status");
    const limit = await api.call("GET", "/api/v1/jobs?limit=5000");
    expect(limit.status).toBe(400);
    expect(limit.json.error.field).toBe("limit");
    const offset = await api.call("GET", "/api/v1/jobs?offset=-1");
    expect(offset.status).toBe(400);
    expect(offset.json.error.field).toBe("offset");
    expect((await api.call("GET", "/api/v1/jobs?project=ghost")).status).toBe(404);
    expect((await api.call("GET", "/api/v1/jobs", { token: null })).status).toBe(401);
  });

  test("an unknown job id is 404, also when it is not a UUID", async () => {
    expect((await api.call("GET", `/api/v1/jobs/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await api.call("GET", "/api/v1/jobs/1;DROP TABLE jobs")).status).toBe(404);
    expect((await api.call("POST", `/api/v1/jobs/${crypto.randomUUID()}/cancel`)).status).toBe(404);
    expect((await api.call("POST", `/api/v1/jobs/${crypto.randomUUID()}/retry`)).status).toBe(404);
  });
});

describe("cancel and retry", () => {
  test("cancel moves queued or running jobs to cancelled; an ended job is 409", async () => {
    const queued = (await submit({ name: "c1", command: "sleep 9", project: "svc" })).json;
    const c = await api.call("POST", `/api/v1/jobs/${queued.id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.json.status).toBe("cancelled");
    expect(c.json.reason).toBe("cancelled by admin");
    const again = await api.call("POST", `/api/v1/jobs/${queued.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json.error.field).toBe("status");

    const running = (await submit({ name: "c2", command: "sleep 9", project: "svc" })).json;
    expect((await status(running.id, { status: "running", worker_id: "w1" })).status).toBe(200);
    expect((await api.call("POST", `/api/v1/jobs/${running.id}/cancel`)).json.status).toBe("cancelled");
    // The worker's late report cannot resurrect it.
    expect((await status(running.id, { status: "success", exit_code: 0 })).status).toBe(409);
  });

  test("retry makes a new attempt linked to the first; only ended jobs", async () => {
    const first = (await submit({ name: "flaky", command: "exit 1", project: "svc", env: { A: "1" } })).json;
    const early = await api.call("POST", `/api/v1/jobs/${first.id}/retry`);
    expect(early.status).toBe(409);
    await status(first.id, { status: "running" });
    await status(first.id, { status: "failure", exit_code: 1 });
    const second = await api.call("POST", `/api/v1/jobs/${first.id}/retry`);
    expect(second.status).toBe(201);
    expect(second.json).toMatchObject({ status: "queued", attempt: 2, retry_of: first.id, command: "exit 1", env: { A: "1" } });
    await status(second.json.id, { status: "running" });
    await status(second.json.id, { status: "error", reason: "node lost" });
    const third = await api.call("POST", `/api/v1/jobs/${second.json.id}/retry`);
    expect(third.json).toMatchObject({ attempt: 3, retry_of: first.id });
  });
});

describe("logs", () => {
  test("GET logs returns the lines as text in order", async () => {
    const job = (await submit({ name: "logged", command: "true", project: "svc" })).json;
    await status(job.id, { status: "running" });
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "one" }, { line: "two", stream: "stderr" }] } });
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "three" }] } });
    const r = await api.call("GET", `/api/v1/jobs/${job.id}/logs`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/plain");
    expect(r.text).toBe("one\ntwo\nthree\n");
  });

  test("?follow=true streams lines as Server-Sent Events until the job ends", async () => {
    const job = (await submit({ name: "followed", command: "true", project: "svc" })).json;
    await status(job.id, { status: "running" });
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "early" }] } });
    const response = await api.app.handle(
      new Request(`http://local/api/v1/jobs/${job.id}/logs?follow=true`, { headers: { authorization: `Bearer ${api.admin}` } }),
    );
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reading = response.text();
    await Bun.sleep(100);
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "late" }] } });
    await status(job.id, { status: "success", exit_code: 0 });
    const text = await reading;
    const events = text.split("\n\n").filter((e) => e.startsWith("id:") || e.startsWith("event:"));
    expect(events[0]).toBe('id: 1\nevent: line\ndata: {"seq":1,"stream":"stdout","line":"early"}');
    expect(events[1]).toBe('id: 2\nevent: line\ndata: {"seq":2,"stream":"stdout","line":"late"}');
    expect(events[2]).toBe('event: end\ndata: {"status":"success","exit_code":0}');
  });

  test("a followed log stops once the reader's token is revoked or their role removed", async () => {
    const job = (await submit({ name: "long-running", command: "sleep 1d", project: "svc" })).json;
    await status(job.id, { status: "running" });
    const follow = async (who: string) => {
      const token = await api.tokenFor(who);
      expect((await api.call("PUT", `/api/v1/projects/svc/members/${who}`, { body: { role: "read" } })).status).toBe(200);
      const response = await api.app.handle(
        new Request(`http://local/api/v1/jobs/${job.id}/logs?follow=true`, { headers: { authorization: `Bearer ${token}` } }),
      );
      expect(response.status).toBe(200);
      return { token, reading: response.text() };
    };
    const revoked = await follow("follower-revoked");
    const removed = await follow("follower-removed");
    const [own] = (await api.call("GET", "/api/v1/tokens", { token: revoked.token })).json.tokens;
    expect((await api.call("DELETE", `/api/v1/tokens/${own.id}`, { token: revoked.token })).status).toBe(200);
    expect((await api.call("DELETE", "/api/v1/projects/svc/members/follower-removed")).status).toBe(200);
    await Bun.sleep(200); // past the recheck interval (100 ms here; 15 s by default)
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "after the revocation" }] } });
    // Both streams end by themselves while the job still runs, and neither gets the later line.
    for (const stream of [revoked, removed]) {
      const text = await Promise.race([stream.reading, Bun.sleep(5000).then(() => "still open after 5 s")]);
      expect(text).toContain('event: end\ndata: {"status":"forbidden"');
      expect(text).not.toContain("after the revocation");
    }
    await status(job.id, { status: "cancelled" });
  });

  test("following resumes after Last-Event-ID, and a finished job's stream ends at once", async () => {
    const job = (await submit({ name: "resume", command: "true", project: "svc" })).json;
    await status(job.id, { status: "running" });
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "a" }, { line: "b" }, { line: "c" }] } });
    await status(job.id, { status: "failure", exit_code: 2 });
    const r = await api.call("GET", `/api/v1/jobs/${job.id}/logs?follow=true`, { headers: { "last-event-id": "2" } });
    expect(r.text).toContain('"line":"c"');
    expect(r.text).not.toContain('"line":"a"');
    expect(r.text).toContain('event: end\ndata: {"status":"failure","exit_code":2}');
  });
});

describe("log archive", () => {
  test("an ended job's log moves to the archive and is still served, late lines included", async () => {
    const job = (await submit({ name: "archived", command: "true", project: "svc" })).json;
    await status(job.id, { status: "running" });
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "first" }, { line: "second" }] } });
    await api.call("POST", `/api/v1/jobs/${job.id}/cancel`);
    const rows = await api.sql`SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = ${job.id}`;
    expect(rows[0]!.n).toBe(0);
    expect(await archivedText(api.deps.archive, job.id)).toBe("ofirst\nosecond\n");
    // The worker's last words after the cancel.
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "terminated" }] } });
    const text = await api.call("GET", `/api/v1/jobs/${job.id}/logs`);
    expect(text.text).toBe("first\nsecond\nterminated\n");
    const followed = await api.call("GET", `/api/v1/jobs/${job.id}/logs?follow=true&after=1`);
    expect(followed.text).toContain('"line":"second"');
    expect(followed.text).toContain('"line":"terminated"');
    expect(followed.text).not.toContain('"line":"first"');
  });

  test("a follower is woken by NOTIFY, well before its fallback poll", async () => {
    const job = (await submit({ name: "pushed", command: "true", project: "svc" })).json;
    await status(job.id, { status: "running" });
    const response = await api.app.handle(
      new Request(`http://local/api/v1/jobs/${job.id}/logs?follow=true`, { headers: { authorization: `Bearer ${api.admin}` } }),
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await Bun.sleep(300); // the follower is now waiting (fallback poll: 1 s in these tests)
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/logs`, { token: worker, body: { lines: [{ line: "ping" }] } });
    const first = await Promise.race([reader.read(), Bun.sleep(900).then(() => ({ value: "timeout", done: false }))]);
    expect(String(first.value)).toContain('"line":"ping"');
    await status(job.id, { status: "success", exit_code: 0 });
    await reader.cancel();
  });
});
