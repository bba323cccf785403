import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { apiTokens, dashboardSessions } from "../../../schema/app/index.ts";
import { csrfToken, SESSION_COOKIE } from "../../auth/sessions.ts";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
  await api.call("POST", "/api/v1/projects", { body: { name: "sess", default_image: "busybox" } });
});
afterAll(() => api?.close());

/** Signs in with a token; the session secret from Set-Cookie and the answer. */
async function signIn(token: string, headers: Record<string, string> = {}) {
  const r = await api.call("POST", "/api/v1/session", { token, headers });
  const cookie = r.headers.get("set-cookie") ?? "";
  const secret = new RegExp(`${SESSION_COOKIE}=([^;]*)`).exec(cookie)?.[1] ?? "";
  return { r, cookie, secret };
}

/** A request carrying only the session cookie (no bearer), as the browser sends it. */
const withCookie = (method: string, path: string, secret: string, headers: Record<string, string> = {}, body?: unknown) =>
  api.call(method, path, { token: null, body, headers: { cookie: `${SESSION_COOKIE}=${secret}`, ...headers } });

describe("dashboard sessions", () => {
  test("a token signs in: HttpOnly SameSite=Strict cookie (Secure only behind https), the user, roles and a CSRF token", async () => {
    const { r, cookie, secret } = await signIn(api.admin);
    expect(r.status).toBe(201);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    expect(cookie).toMatch(/Max-Age=4319\d/);
    expect(cookie).not.toContain("Secure");
    expect(secret.length).toBeGreaterThan(30);
    // The cookie holds a fresh secret, never the token itself.
    expect(cookie).not.toContain(api.admin);
    expect(r.json).toMatchObject({ user: "admin", is_admin: true, csrf_token: csrfToken(secret) });
    expect(r.json.projects).toContainEqual(expect.objectContaining({ name: "sess", role: "admin" }));
    expect(r.headers.get("cache-control")).toBe("no-store");
    const proxied = await signIn(api.admin, { "x-forwarded-proto": "https" });
    expect(proxied.cookie).toContain("Secure");
  });

  test("the cookie authenticates reads; GET /session gives the CSRF token back to the page", async () => {
    const { secret } = await signIn(api.admin);
    const me = await withCookie("GET", "/api/v1/session", secret);
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ user: "admin", csrf_token: csrfToken(secret) });
    expect(typeof me.json.expires_at).toBe("string");
    expect((await withCookie("GET", "/api/v1/projects", secret)).status).toBe(200);
    // With a bearer token there is no session to tell about.
    expect((await api.call("GET", "/api/v1/session")).json).toMatchObject({ user: "admin", csrf_token: null, expires_at: null });
  });

  test("CSRF: a state-changing request with only the cookie needs the session's X-CSRF-Token", async () => {
    const { secret } = await signIn(api.admin);
    const job = await api.call("POST", "/api/v1/jobs", { body: { name: "c", command: "true", project: "sess" } });
    const cancel = `/api/v1/jobs/${job.json.id}/cancel`;
    const other = (await signIn(api.admin)).secret;
    // As a cross-site form would send it: the cookie and nothing else; then a wrong token; then another session's.
    const attempts: Record<string, string>[] = [{}, { "x-csrf-token": "guess" }, { "x-csrf-token": csrfToken(other) }, { "x-csrf-token": "" }];
    for (const headers of attempts) {
      const r = await withCookie("POST", cancel, secret, headers);
      expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 403, code: "csrf_failed" });
    }
    // A submission (body and all) is refused the same way, before it is read.
    const submit = await withCookie("POST", "/api/v1/jobs", secret, { "content-type": "text/plain" }, JSON.stringify({ name: "x", command: "true", project: "sess" }));
    expect(submit.status).toBe(403);
    expect((await api.call("GET", `/api/v1/jobs/${job.json.id}`)).json.status).toBe("queued");
    const ok = await withCookie("POST", cancel, secret, { "x-csrf-token": csrfToken(secret) });
    expect(ok.status).toBe(200);
    expect(ok.json.status).toBe("cancelled");
    // Reads need no CSRF token.
    expect((await withCookie("GET", `/api/v1/jobs/${job.json.id}`, secret)).status).toBe(200);
  });

  test("sign-out ends the session: the old cookie answers 401 and the cookie is cleared", async () => {
    const { secret } = await signIn(api.admin);
    const out = await withCookie("DELETE", "/api/v1/session", secret, { "x-csrf-token": csrfToken(secret) });
    expect(out.status).toBe(200);
    expect(out.json).toEqual({ signed_out: true });
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    const after = await withCookie("GET", "/api/v1/projects", secret);
    expect({ status: after.status, code: after.json.error.code }).toEqual({ status: 401, code: "unauthorized" });
    expect(after.json.error.message).toContain("sign in again");
  });

  test("a session expires; one made from a token ends when the token is revoked or expires", async () => {
    const { secret } = await signIn(api.admin);
    await api.db.update(dashboardSessions).set({ expiresAt: new Date(Date.now() - 1000) });
    expect((await withCookie("GET", "/api/v1/projects", secret)).status).toBe(401);

    const token = await api.tokenFor("sess-user");
    const fromToken = await signIn(token);
    expect((await withCookie("GET", "/api/v1/session", fromToken.secret)).status).toBe(200);
    const [row] = await api.db.select().from(dashboardSessions).where(eq(dashboardSessions.tokenId, (await api.db.select().from(apiTokens).where(eq(apiTokens.name, "sess-user")))[0]!.id));
    expect(row).toBeDefined();
    await api.db.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, row!.tokenId));
    expect((await withCookie("GET", "/api/v1/session", fromToken.secret)).status).toBe(401);

    // A token that expires in an hour makes a session of an hour, not twelve.
    const short = await api.call("POST", "/api/v1/tokens", { body: { name: "short", expires_in_days: 1 } });
    await api.db.update(apiTokens).set({ expiresAt: new Date(Date.now() + 3600_000) }).where(eq(apiTokens.id, short.json.id));
    const s = await signIn(short.json.token);
    expect(Date.parse(s.r.json.expires_at) - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(s.cookie).toMatch(/Max-Age=3[0-9]{3};/);
  });

  test("only a bearer token signs in: not a worker token, not an unknown one, not the cookie itself", async () => {
    const worker = await api.tokenFor("sess-worker", { worker: true });
    expect((await signIn(worker)).r.status).toBe(403);
    expect((await signIn("rcd_nope")).r.status).toBe(401);
    const { secret } = await signIn(api.admin);
    const again = await withCookie("POST", "/api/v1/session", secret, { "x-csrf-token": csrfToken(secret) });
    expect(again.status).toBe(401);
  });

  test("a bearer token wins over a cookie, and then no CSRF token is needed (a browser never adds the header)", async () => {
    const reader = await api.tokenFor("sess-reader");
    const { secret } = await signIn(api.admin);
    const r = await api.call("GET", "/api/v1/session", { token: reader, headers: { cookie: `${SESSION_COOKIE}=${secret}` } });
    expect(r.json.user).toBe("sess-reader");
    const job = await api.call("POST", "/api/v1/jobs", { body: { name: "b", command: "true", project: "sess" }, headers: { cookie: `${SESSION_COOKIE}=garbage` } });
    expect(job.status).toBe(201);
  });
});

describe("the dashboard page", () => {
  test("/ and its paths serve the page with a CSP that allows no inline script; the API's 404 keeps its shape", async () => {
    for (const path of ["/", "/jobs/123", "/projects/sess"]) {
      const r = await api.call("GET", path, { token: null });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/html");
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      // No inline script in the page itself: one external module.
      expect(r.text).toContain('<script type="module" src="/assets/main.js"></script>');
      expect(r.text.match(/<script/g)).toHaveLength(1);
    }
    const api404 = await api.call("GET", "/api/v1/nothing-here");
    expect(api404.status).toBe(404);
    expect(api404.json.error.code).toBe("not_found");
    expect((await api.call("GET", "/metrics/nothing", { token: null })).headers.get("content-type")).toContain("application/json");
  });

  test("the assets are served from this origin with their types and an ETag", async () => {
    const js = await api.call("GET", "/assets/main.js", { token: null });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(js.text.length).toBeGreaterThan(10_000);
    // Nothing is fetched from elsewhere: no absolute URL to another host in the bundle's imports.
    expect(js.text).not.toMatch(/import\s*\(?\s*["']https?:/);
    const css = await api.call("GET", "/assets/main.css", { token: null });
    expect(css.headers.get("content-type")).toContain("text/css");
    const again = await api.call("GET", "/assets/main.js", { token: null, headers: { "if-none-match": js.headers.get("etag")! } });
    expect(again.status).toBe(304);
    expect((await api.call("GET", "/assets/nope.js", { token: null })).status).toBe(404);
  });
});
