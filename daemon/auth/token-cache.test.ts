import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { apiTokens } from "../../schema/app/index.ts";
import { connect, openDb } from "../db/client.ts";
import { testApi } from "../testing/api.ts";
import { cacheVerifiedTokens } from "./token-cache.ts";
import { revokeTokens } from "./tokens.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api?.close());

/** Polls until `path` answers `status` with `token`, or `ms` pass; returns the last status. */
async function statusWithin(token: string, status: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = (await api.call("GET", "/api/v1/tokens", { token })).status;
    if (got === status || Date.now() > deadline) return got;
    await Bun.sleep(10);
  }
}

describe("verified-token cache", () => {
  test("a cached token revoked through the API answers 401 on the very next request", async () => {
    // An hour of TTL: only the revocation itself can end the cached entry.
    const stop = await cacheVerifiedTokens(api.db, api.sql, 3_600_000);
    try {
      const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "cached" } });
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(200);
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(200);
      expect((await api.call("DELETE", `/api/v1/tokens/${json.id}`)).status).toBe(200);
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(401);
    } finally {
      await stop();
    }
  });

  test("a token revoked by another process (another connection pool) is refused here once its NOTIFY arrives", async () => {
    const stop = await cacheVerifiedTokens(api.db, api.sql, 3_600_000);
    const otherSql = connect(api.url, 1);
    try {
      const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "elsewhere" } });
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(200);
      await revokeTokens(openDb(otherSql), eq(apiTokens.id, json.id));
      expect(await statusWithin(json.token, 401, 5_000)).toBe(401);
    } finally {
      await otherSql.end();
      await stop();
    }
  });

  test("a revocation nobody announced (a plain UPDATE) still ends a cached token after the TTL", async () => {
    const stop = await cacheVerifiedTokens(api.db, api.sql, 300);
    try {
      const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "silent" } });
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(200);
      await api.sql`UPDATE api_tokens SET revoked_at = now() WHERE id = ${json.id}`;
      await Bun.sleep(350);
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(401);
    } finally {
      await stop();
    }
  });

  test("an expiry passing while the token is cached ends it at once", async () => {
    const stop = await cacheVerifiedTokens(api.db, api.sql, 3_600_000);
    try {
      const { json } = await api.call("POST", "/api/v1/tokens", { body: { name: "expiring", expires_in_days: 1 } });
      expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(200);
      const realNow = Date.now;
      Date.now = () => realNow() + 2 * 86_400_000;
      try {
        expect((await api.call("GET", "/api/v1/tokens", { token: json.token })).status).toBe(401);
      } finally {
        Date.now = realNow;
      }
    } finally {
      await stop();
    }
  });
});
