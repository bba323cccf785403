/**
 * Requests as an attacker (or a careless script) writes them: each answers a quick 4xx in the
 * API's one error shape, and the daemon keeps answering others meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCoordinator, type Coordinator } from "../server/coordinator.ts";
import { idleQueue, testApi } from "../testing/api.ts";
import { testDatabase } from "../testing/postgres.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
  expect((await api.call("POST", "/api/v1/projects", { body: { name: "pa", default_image: "busybox" } })).status).toBe(201);
});
afterAll(() => api?.close());

const deepBody = (levels: number) => `{"name":"x","project":"pa","command":"x","x":${"[".repeat(levels)}${"]".repeat(levels)}}`;

describe("nesting and authentication come before the body", () => {
  test("100,000 levels of nested arrays without a token: 401 at once, and /healthz answers meanwhile", async () => {
    const body = deepBody(100_000);
    const started = performance.now();
    const pending = Promise.all(Array.from({ length: 7 }, () => api.call("POST", "/api/v1/jobs", { token: null, body })));
    const health = await api.call("GET", "/healthz");
    expect(health.status).toBe(200);
    for (const r of await pending) {
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe("unauthorized");
    }
    // Was 6-8 s each (a stack overflow in validation); now no body is read at all.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("the same body with a valid token: 400 naming the nesting limit, not a 500", async () => {
    const r = await api.call("POST", "/api/v1/jobs", { body: deepBody(100_000) });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain("deeper than 32 levels");
    // Nesting inside strings is text, not structure.
    const fine = await api.call("POST", "/api/v1/jobs", { body: { name: "ok", project: "pa", command: `echo '${"[".repeat(100)}'` } });
    expect(fine.status).toBe(201);
  });

  test("without a token, an invalid body is 401, not a validation error", async () => {
    for (const body of [{}, { name: "" }, "not json"]) {
      const r = await api.call("POST", "/api/v1/jobs", { token: null, body });
      expect(r.status).toBe(401);
    }
    expect((await api.call("POST", "/api/v1/jobs", { token: "bogus", body: {} })).json.error.message).toContain("unknown, revoked or expired");
    // With a token the same body is the validation error it was.
    expect((await api.call("POST", "/api/v1/jobs", { body: {} })).status).toBe(400);
  });
});

describe("NUL in a path or query parameter", () => {
  test("each is 400 naming the parameter, never 500", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/api/v1/jobs?name=a%00b", "name"],
      ["GET", "/api/v1/jobs?project=%00", "project"],
      ["GET", "/api/v1/projects/a%00b", "path"],
      ["GET", "/api/v1/projects/pa/members", ""],
    ];
    for (const [method, path, field] of cases) {
      const r = await api.call(method, path);
      if (!field) {
        expect(r.status).toBe(200);
        continue;
      }
      expect(r.status, path).toBe(400);
      expect(r.json.error).toEqual({ code: "invalid", message: `${field}: must not contain a NUL character`, field });
    }
    const put = await api.call("PUT", "/api/v1/projects/pa/members/a%00b", { body: { role: "read" } });
    expect(put.status).toBe(400);
    expect(put.json.error.field).toBe("path");
  });

  test("a NUL inside a JSON string that reaches Postgres is 400, not 500", async () => {
    const r = await api.call("POST", "/api/v1/tokens", { body: { name: "a\u0000b" } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid");
  });
});

describe("followed logs", () => {
  test("a Last-Event-ID that is not a line number is 400 naming the header", async () => {
    const job = await api.call("POST", "/api/v1/jobs", { body: { name: "j", project: "pa", command: "true" } });
    for (const id of ["99999999999999999999999", "-1", "abc"]) {
      const r = await api.call("GET", `/api/v1/jobs/${job.json.id}/logs?follow=true`, { headers: { "last-event-id": id } });
      expect(r.status).toBe(400);
      expect(r.json.error.field).toBe("Last-Event-ID");
    }
  });
});

describe("a body over the limit on the listening server", () => {
  let coordinator: Coordinator;
  beforeAll(async () => {
    const database = await testDatabase("limit");
    coordinator = await startCoordinator({ dataDir: await mkdtemp(join(tmpdir(), "rc-limit-")), databaseUrl: database.url, host: "127.0.0.1", port: 0, bodyLimit: 4096, queue: idleQueue });
  });
  afterAll(() => coordinator?.stop());

  test("413 with the error body, with a Content-Length and chunked", async () => {
    const big = JSON.stringify({ name: "x".repeat(10_000) });
    const withLength = await fetch(`${coordinator.url}/api/v1/tokens`, { method: "POST", headers: { authorization: "Bearer nope", "content-type": "application/json" }, body: big });
    expect(withLength.status).toBe(413);
    expect(((await withLength.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    const token = coordinator.adminToken!;
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const streamed = await fetch(`${coordinator.url}/api/v1/tokens`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: chunked });
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});

describe("on the listening server (default limits)", () => {
  let coordinator: Coordinator;
  beforeAll(async () => {
    const database = await testDatabase("nohost");
    coordinator = await startCoordinator({ dataDir: await mkdtemp(join(tmpdir(), "rc-nohost-")), databaseUrl: database.url, host: "127.0.0.1", port: 0, queue: idleQueue });
  });
  afterAll(() => coordinator?.stop());

  /** The raw bytes of a request on one connection, and what came back until the server closed it. */
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      let answer = "";
      const socket = connect(coordinator.port, "127.0.0.1", () => socket.write(request));
      socket.on("data", (chunk) => (answer += chunk.toString()));
      socket.on("error", reject);
      socket.on("close", () => resolve(answer));
      setTimeout(() => socket.destroy(), 5000);
    });

  test("HTTP/1.0 without Host (printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' | nc) is served; an API route answers its usual 401", async () => {
    // Was a 500: "Invalid URL" from reading the path-only URL Bun gives such a request.
    const health = await raw("GET /healthz HTTP/1.0\r\n\r\n");
    expect(health).toStartWith("HTTP/1.1 200");
    const jobs = await raw("GET /api/v1/jobs HTTP/1.0\r\n\r\n");
    expect(jobs).toStartWith("HTTP/1.1 401");
    expect(jobs).toContain('"code":"unauthorized"');
    const post = await raw('POST /api/v1/jobs HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
    expect(post).toStartWith("HTTP/1.1 401");
  });

  test("seven 200 KB bodies of 100,000 nested levels without a token over real sockets: each 401 in the error shape, /healthz answering meanwhile", async () => {
    const body = deepBody(100_000);
    expect(body.length).toBeGreaterThan(200_000);
    const post = () => fetch(`${coordinator.url}/api/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const attacks = Promise.all(Array.from({ length: 7 }, post));
    // Was 6-8 s per request (a stack overflow in validation), /healthz 6 s meanwhile, 46 s for seven.
    const healthTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      expect((await fetch(`${coordinator.url}/healthz`)).status).toBe(200);
      healthTimes.push(performance.now() - started);
    }
    for (const r of await attacks) {
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
    expect(Math.max(...healthTimes)).toBeLessThan(2000);
    // `{}` without a token is 401 too: authentication comes before validation.
    const empty = await fetch(`${coordinator.url}/api/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(empty.status).toBe(401);
  });

  test("HTTP/1.1 without Host is 400, as RFC 9112 requires", async () => {
    expect(await raw("GET /healthz HTTP/1.1\r\nconnection: close\r\n\r\n")).toStartWith("HTTP/1.1 400");
  });
});

describe("what the API accepts must run", () => {
  test("env name __proto__ is 400 (it reached the job empty)", async () => {
    const r = await api.call("POST", "/api/v1/jobs", { body: { name: "p", project: "pa", command: "env", env: { __proto__: "x" } } });
    // JSON.stringify drops __proto__ set by a literal; send it as the raw text an attacker would.
    const raw = await api.call("POST", "/api/v1/jobs", { body: '{"name":"p","project":"pa","command":"env","env":{"__proto__":"x"}}' });
    expect(r.status).toBe(201);
    expect(raw.status).toBe(400);
    expect(raw.json.error.field).toStartWith("env");
    const secret = await api.call("PUT", "/api/v1/projects/pa/secrets/__proto__", { body: { value: "long-enough" } });
    expect(secret.status).toBe(400);
    expect(secret.json.error.field).toBe("key");
  });

  test("a secret value with a NUL, or shorter than 3 characters (it could not be masked), is 400", async () => {
    for (const value of ["ab\u0000cd", "ab", "x"]) {
      const r = await api.call("PUT", "/api/v1/projects/pa/secrets/TOKEN", { body: { value } });
      expect(r.status, JSON.stringify(value)).toBe(400);
      expect(r.json.error.field).toBe("value");
    }
    expect((await api.call("PUT", "/api/v1/projects/pa/secrets/TOKEN", { body: { value: "abc" } })).status).toBeLessThan(300);
  });

  test("a command over 65536 bytes of UTF-8 is 400 (no process could take it as one argument)", async () => {
    const r = await api.call("POST", "/api/v1/jobs", { body: { name: "big", project: "pa", command: `echo ${"€".repeat(30_000)}` } });
    expect(r.status).toBe(400);
    expect(r.json.error.field).toBe("command");
  });
});
