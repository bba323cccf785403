import { eq } from "drizzle-orm";
import { apiTokens } from "../../../schema/app/index.ts";
import { SessionSchema, SignedOutSchema, type SessionInfo } from "../../../runner/protocol/index.ts";
import { projectRoles } from "../../projects/store.ts";
import { answers } from "../responses.ts";
import { createSession, csrfToken, endSession, SESSION_COOKIE, sessionPrincipal, sessionSecretOf } from "../../auth/sessions.ts";
import type { Principal } from "../../auth/tokens.ts";
import { requirePrincipal } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { unauthorized } from "../errors.ts";
import { router } from "../router.ts";
import { requestUrl } from "../request-url.ts";

/** Secure when the browser reached us over https, directly or through a proxy that says so. */
function overHttps(request: Request): boolean {
  return requestUrl(request).protocol === "https:" || request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

function sessionCookie(request: Request, value: string, maxAgeSeconds: number): string {
  return new Bun.Cookie(SESSION_COOKIE, value, { path: "/", httpOnly: true, sameSite: "strict", secure: overHttps(request), maxAge: maxAgeSeconds }).serialize();
}

export function sessionRoutes(deps: AppDeps) {
  const { db } = deps;

  /** Who the caller is and the role they hold in each project they can read (the dashboard hides what they cannot do). */
  async function whoami(me: Principal): Promise<Pick<SessionInfo, "user" | "is_admin" | "projects">> {
    return { user: me.userName, is_admin: me.isAdmin, projects: await projectRoles(db, me.userId, me.isAdmin) };
  }

  return router("/api/v1/session")
    .post(
      "/",
      async ({ request, set }) => {
        // Only a bearer token signs in: a cross-site form cannot send that header, so no login CSRF.
        if (!request.headers.get("authorization")) throw unauthorized("sign in with Authorization: Bearer <token>");
        const me = await requirePrincipal(db, request.headers, "api");
        const [token] = await db.select({ expiresAt: apiTokens.expiresAt }).from(apiTokens).where(eq(apiTokens.id, me.tokenId));
        const session = await createSession(db, me, token?.expiresAt ?? null);
        await audit(db, me, "session.create", "token", me.tokenId);
        set.status = 201;
        set.headers["set-cookie"] = sessionCookie(request, session.secret, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000));
        set.headers["cache-control"] = "no-store";
        return { ...(await whoami(me)), csrf_token: csrfToken(session.secret), expires_at: session.expiresAt.toISOString() };
      },
      { response: answers({ 201: SessionSchema }), detail: { summary: "Sign the dashboard in: trades the bearer token for an HttpOnly session cookie" } },
    )
    .get(
      "/",
      async ({ request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const secret = request.headers.get("authorization") ? undefined : sessionSecretOf(request.headers);
        const session = secret === undefined ? undefined : await sessionPrincipal(db, secret);
        set.headers["cache-control"] = "no-store";
        return {
          ...(await whoami(me)),
          csrf_token: secret && session ? csrfToken(secret) : null,
          expires_at: session?.expiresAt.toISOString() ?? null,
        };
      },
      { response: answers({ 200: SessionSchema }), detail: { summary: "The caller, their project roles and (signed in) the session's CSRF token and expiry" } },
    )
    .delete(
      "/",
      async ({ request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const secret = request.headers.get("authorization") ? undefined : sessionSecretOf(request.headers);
        if (secret) {
          await endSession(db, secret);
          await audit(db, me, "session.end", "token", me.tokenId);
        }
        set.headers["set-cookie"] = sessionCookie(request, "", 0);
        return { signed_out: secret !== undefined };
      },
      { response: answers({ 200: SignedOutSchema }), detail: { summary: "Sign out: ends the session and clears its cookie" } },
    );
}
