import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hashToken } from "../../auth/tokens.ts";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api?.close());

describe("tokens", () => {
  test("create shows the token once; only its SHA-256 is stored; it then authenticates", async () => {
    const created = await api.call("POST", "/api/v1/tokens", { body: { name: "laptop" } });
    expect(created.status).toBe(201);
    const token: string = created.json.token;
    expect(token).toMatch(/^rcd_[A-Za-z0-9_-]{43}$/);
    const stored = await api.sql`SELECT token_hash FROM api_tokens WHERE id = ${created.json.id}`;
    expect(stored[0]!.token_hash).toBe(hashToken(token));
    const dump = JSON.stringify(await api.sql`SELECT * FROM api_tokens`);
    expect(dump).not.toContain(token);

    const listed = await api.call("GET", "/api/v1/tokens", { token });
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(token);
    expect(listed.json.tokens.map((t: { name: string }) => t.name)).toContain("laptop");
  });

  test("a revoked token answers 401", async () => {
    const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "short-lived" } });
    expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(200);
    const revoked = await api.call("DELETE", `/api/v1/tokens/${json.id}`);
    expect(revoked.status).toBe(200);
    const after = await api.call("GET", "/api/v1/tokens", { token: json.token });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("unauthorized");
  });

  test("an expired token answers 401", async () => {
    const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "old", expires_in_days: 1 } });
    await api.sql`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = ${json.id}`;
    expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(401);
  });

  test("no token, a malformed header or an unknown token answer 401", async () => {
    expect((await api.call("GET", "/api/v1/tokens", { token: null })).status).toBe(401);
    expect((await api.call("GET", "/api/v1/tokens", { token: null, headers: { authorization: "Basic abc" } })).status).toBe(401);
    expect((await api.call("GET", "/api/v1/tokens", { token: "rcd_not-a-real-token" })).status).toBe(401);
  });

  test("a user cannot mint worker or admin tokens, nor revoke another user's token (403, 404)", async () => {
    const alice = await api.tokenFor("alice");
    const worker = await api.call("POST", "/api/v1/tokens", { token: alice, body: { name: "w", worker: true } });
    expect(worker.status).toBe(403);
    const admin = await api.call("POST", "/api/v1/tokens", { token: alice, body: { name: "x", user: "alice", admin: true } });
    expect(admin.status).toBe(403);
    const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "admins-own" } });
    const steal = await api.call("DELETE", `/api/v1/tokens/${json.id}`, { token: alice });
    expect(steal.status).toBe(404);
    // A user sees only their own tokens.
    const mine = await api.call("GET", "/api/v1/tokens", { token: alice });
    expect(mine.json.tokens.every((t: { user: string }) => t.user === "alice")).toBe(true);
  });

  test("an administrator issues a token for a new user, who starts with no projects", async () => {
    const r = await api.call("POST", "/api/v1/tokens", { body: { name: "bob's", user: "bob" } });
    expect(r.status).toBe(201);
    const projects = await api.call("GET", "/api/v1/projects", { token: r.json.token });
    expect(projects.status).toBe(200);
    expect(projects.json.projects).toEqual([]);
  });

  test("a worker token cannot use the public API, and a user token cannot use the worker API", async () => {
    const worker = await api.call("POST", "/api/v1/tokens", { body: { name: "worker-1", worker: true } });
    expect(worker.status).toBe(201);
    expect((await api.call("GET", "/api/v1/projects", { token: worker.json.token })).status).toBe(403);
    const r = await api.call("POST", "/api/v1/internal/workers/heartbeat", { body: { id: "w1" } });
    expect(r.status).toBe(403);
  });

  test("validation: missing name, wrong type and unknown fields are 400 naming the field", async () => {
    const missing = await api.call("POST", "/api/v1/tokens", { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.json.error.field).toBe("name");
    const wrong = await api.call("POST", "/api/v1/tokens", { body: { name: "x", expires_in_days: "soon" } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.field).toBe("expires_in_days");
    const extra = await api.call("POST", "/api/v1/tokens", { body: { name: "x", scopes: ["worker"] } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.field).toBe("scopes");
  });

  test("malformed JSON is 400, an oversized body 413, an unknown token id 404", async () => {
    const bad = await api.call("POST", "/api/v1/tokens", { body: '{"name": ' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("malformed_json");
    const huge = await api.call("POST", "/api/v1/tokens", { body: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe("payload_too_large");
    expect((await api.call("DELETE", `/api/v1/tokens/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await api.call("DELETE", "/api/v1/tokens/not-a-uuid")).status).toBe(404);
  });
});
