import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
  await api.call("POST", "/api/v1/projects", { body: { name: "app", default_image: "busybox" } });
});
afterAll(() => api?.close());

const VALUE = "s3cr3t-value-ÅÄÖ-🙂";

describe("secrets", () => {
  test("PUT stores a value encrypted (fresh nonce each time); list shows keys and times, never values", async () => {
    const put = await api.call("PUT", "/api/v1/projects/app/secrets/DEPLOY_KEY", { body: { value: VALUE } });
    expect(put.status).toBe(201);
    const again = await api.call("PUT", "/api/v1/projects/app/secrets/DEPLOY_KEY", { body: { value: VALUE } });
    expect(again.status).toBe(200);
    const rows = await api.sql`SELECT nonce, ciphertext, key_id, version FROM secrets WHERE key = 'DEPLOY_KEY'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.version).toBe(2);
    expect(Buffer.from(rows[0]!.ciphertext).toString("utf8")).not.toContain("s3cr3t");
    expect(rows[0]!.key_id).toBe(api.deps.key.id);

    const list = await api.call("GET", "/api/v1/projects/app/secrets");
    expect(list.status).toBe(200);
    expect(list.json.secrets).toHaveLength(1);
    expect(list.json.secrets[0]).toMatchObject({ key: "DEPLOY_KEY", version: 2 });
    expect(list.json.secrets[0].created_at).toBeString();
    expect(list.text).not.toContain("s3cr3t");
    const audit = JSON.stringify(await api.sql`SELECT * FROM audit_log`);
    expect(audit).toContain("DEPLOY_KEY");
    expect(audit).not.toContain("s3cr3t");
  });

  test("the same value sealed twice differs (fresh nonce)", async () => {
    await api.call("PUT", "/api/v1/projects/app/secrets/A", { body: { value: "same-value" } });
    await api.call("PUT", "/api/v1/projects/app/secrets/B", { body: { value: "same-value" } });
    const rows = await api.sql`SELECT nonce, ciphertext FROM secrets WHERE key IN ('A', 'B') ORDER BY key`;
    expect(Buffer.compare(rows[0]!.nonce, rows[1]!.nonce)).not.toBe(0);
    expect(Buffer.compare(rows[0]!.ciphertext, rows[1]!.ciphertext)).not.toBe(0);
  });

  test("DELETE removes a secret; deleting it again is 404", async () => {
    await api.call("PUT", "/api/v1/projects/app/secrets/GONE", { body: { value: "bye-bye" } });
    expect((await api.call("DELETE", "/api/v1/projects/app/secrets/GONE")).status).toBe(200);
    expect((await api.call("DELETE", "/api/v1/projects/app/secrets/GONE")).status).toBe(404);
    const keys = (await api.call("GET", "/api/v1/projects/app/secrets")).json.secrets.map((s: { key: string }) => s.key);
    expect(keys).not.toContain("GONE");
  });

  test("hostile keys and bodies: 400 naming the field", async () => {
    for (const key of ["1ABC", "A-B", "A%20B", "..%2F..%2Fetc", "x".repeat(200)]) {
      const r = await api.call("PUT", `/api/v1/projects/app/secrets/${key}`, { body: { value: "vvv" } });
      expect(r.status).toBe(400);
      expect(r.json.error.field).toBe("key");
    }
    const empty = await api.call("PUT", "/api/v1/projects/app/secrets/OK", { body: { value: "" } });
    expect(empty.status).toBe(400);
    expect(empty.json.error.field).toBe("value");
    const extra = await api.call("PUT", "/api/v1/projects/app/secrets/OK", { body: { value: "vvv", plain: true } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.field).toBe("plain");
    expect((await api.call("PUT", "/api/v1/projects/app/secrets/OK", { body: "{" })).status).toBe(400);
    expect((await api.call("PUT", "/api/v1/projects/app/secrets/OK", { body: { value: "v".repeat(2_000_000) } })).status).toBe(413);
  });

  test("roles: writers list keys but cannot set or delete (403); readers cannot list (403); strangers 404; no token 401", async () => {
    const writer = await api.tokenFor("writer");
    const reader = await api.tokenFor("reader");
    const stranger = await api.tokenFor("stranger");
    await api.call("PUT", "/api/v1/projects/app/members/writer", { body: { role: "write" } });
    await api.call("PUT", "/api/v1/projects/app/members/reader", { body: { role: "read" } });
    expect((await api.call("GET", "/api/v1/projects/app/secrets", { token: writer })).status).toBe(200);
    expect((await api.call("PUT", "/api/v1/projects/app/secrets/X", { token: writer, body: { value: "vvv" } })).status).toBe(403);
    expect((await api.call("DELETE", "/api/v1/projects/app/secrets/A", { token: writer })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/projects/app/secrets", { token: reader })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/projects/app/secrets", { token: stranger })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/projects/app/secrets", { token: null })).status).toBe(401);
    expect((await api.call("GET", `/api/v1/projects/${crypto.randomUUID()}/secrets`)).status).toBe(404);
  });
});
