import { and, eq, gt, isNull, lt } from "drizzle-orm";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { apiTokens, dashboardSessions, users } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import { hashToken, type Principal } from "./tokens.ts";

/** The cookie that carries a dashboard session's secret (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = "reactorcide_session";
/** The header a signed-in page sends its CSRF token in on every state-changing request. */
export const CSRF_HEADER = "x-csrf-token";
/** How long a sign-in lasts (never past the expiry of the token it was made from). */
export const SESSION_TTL_MS = 12 * 3600_000;

export interface Session {
  secret: string;
  expiresAt: Date;
}

/** A new session for the principal, from the token it authenticated with. */
export async function createSession(db: Db, principal: Principal, tokenExpiresAt: Date | null, ttlMs = SESSION_TTL_MS): Promise<Session> {
  const secret = randomBytes(32).toString("base64url");
  let expiresAt = new Date(Date.now() + ttlMs);
  if (tokenExpiresAt && tokenExpiresAt < expiresAt) expiresAt = tokenExpiresAt;
  // Expired rows are swept here, so the table holds only live sessions and a few stale ones.
  await db.delete(dashboardSessions).where(lt(dashboardSessions.expiresAt, new Date()));
  await db.insert(dashboardSessions).values({ secretHash: hashToken(secret), userId: principal.userId, tokenId: principal.tokenId, expiresAt });
  return { secret, expiresAt };
}

/** The principal behind a session secret while the session and the token it came from both hold. */
export async function sessionPrincipal(db: Db, secret: string): Promise<(Principal & { expiresAt: Date }) | undefined> {
  const now = new Date();
  const [row] = await db
    .select({
      tokenId: apiTokens.id,
      scopes: apiTokens.scopes,
      tokenExpiresAt: apiTokens.expiresAt,
      expiresAt: dashboardSessions.expiresAt,
      userId: users.id,
      userName: users.name,
      isAdmin: users.isAdmin,
    })
    .from(dashboardSessions)
    .innerJoin(apiTokens, eq(apiTokens.id, dashboardSessions.tokenId))
    .innerJoin(users, eq(users.id, dashboardSessions.userId))
    .where(and(eq(dashboardSessions.secretHash, hashToken(secret)), gt(dashboardSessions.expiresAt, now), isNull(apiTokens.revokedAt)))
    .limit(1);
  if (!row) return undefined;
  if (row.tokenExpiresAt && row.tokenExpiresAt <= now) return undefined;
  return { tokenId: row.tokenId, scopes: row.scopes, userId: row.userId, userName: row.userName, isAdmin: row.isAdmin, expiresAt: row.expiresAt };
}

export async function endSession(db: Db, secret: string): Promise<void> {
  await db.delete(dashboardSessions).where(eq(dashboardSessions.secretHash, hashToken(secret)));
}

/**
 * The session's CSRF token: derived from its secret, so it needs no storage, yet only a page that
 * was told it (same-origin JSON) can send it; a cross-site form or fetch cannot read it.
 */
export function csrfToken(secret: string): string {
  return createHash("sha256").update(`csrf:${secret}`, "utf8").digest("base64url");
}

export function csrfMatches(secret: string, sent: string | null): boolean {
  if (!sent) return false;
  const want = Buffer.from(csrfToken(secret));
  const got = Buffer.from(sent);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The session secret a request's Cookie header carries, if any. */
export function sessionSecretOf(headers: Headers): string | undefined {
  const cookie = headers.get("cookie");
  if (!cookie) return undefined;
  return new Bun.CookieMap(cookie).get(SESSION_COOKIE) || undefined;
}
