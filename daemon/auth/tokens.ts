import { and, eq, isNull, sql, type SQL } from "drizzle-orm";
import { createHash, randomBytes } from "node:crypto";
import { apiTokens, users, type TokenScope } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import { TOKEN_REVOKED_CHANNEL, tokenCacheOf } from "./token-cache.ts";

/** `rcd_` + 32 random bytes (base64url): recognisable in leaks, unguessable. */
export function newToken(): string {
  return "rcd_" + randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export interface Principal {
  userId: string;
  userName: string;
  isAdmin: boolean;
  tokenId: string;
  scopes: readonly TokenScope[];
  /** Job tokens: the one job this token acts for. */
  jobId?: string;
}

export interface IssueOptions {
  userId: string;
  name: string;
  scopes?: TokenScope[];
  expiresAt?: Date | null;
}

export interface Issued {
  id: string;
  token: string;
}

export async function issueToken(db: Pick<Db, "insert">, options: IssueOptions): Promise<Issued> {
  const token = newToken();
  const [row] = await db
    .insert(apiTokens)
    .values({
      userId: options.userId,
      name: options.name,
      tokenHash: hashToken(token),
      scopes: options.scopes ?? ["api"],
      expiresAt: options.expiresAt ?? null,
    })
    .returning({ id: apiTokens.id });
  return { id: row!.id, token };
}

// last_used_at is refreshed at most this often, so reads do not each cost a write.
const TOUCH_EVERY_MS = 60_000;

/** The principal behind a bearer token, or undefined when it is unknown, revoked or expired. */
export async function authenticate(db: Db, token: string): Promise<Principal | undefined> {
  const hash = hashToken(token);
  const cache = tokenCacheOf(db);
  const cached = cache?.get(hash);
  if (cached) return cached;
  const [row] = await db
    .select({
      tokenId: apiTokens.id,
      scopes: apiTokens.scopes,
      expiresAt: apiTokens.expiresAt,
      lastUsedAt: apiTokens.lastUsedAt,
      userId: users.id,
      userName: users.name,
      isAdmin: users.isAdmin,
      jobId: apiTokens.jobId,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)))
    .limit(1);
  if (!row) return undefined;
  const now = Date.now();
  if (row.expiresAt && row.expiresAt.getTime() <= now) return undefined;
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await db.update(apiTokens).set({ lastUsedAt: new Date(now) }).where(eq(apiTokens.id, row.tokenId));
  }
  const principal: Principal = { tokenId: row.tokenId, scopes: row.scopes, userId: row.userId, userName: row.userName, isAdmin: row.isAdmin, ...(row.jobId ? { jobId: row.jobId } : {}) };
  cache?.set(hash, principal, row.expiresAt);
  return principal;
}

/**
 * Revokes the live tokens `where` selects and tells every process's verified-token cache
 * (token-cache.ts), in one statement; the NOTIFY goes out with the commit. Returns their ids.
 */
export async function revokeTokens(db: Db, where: SQL | undefined): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`
    WITH revoked AS (
      UPDATE ${apiTokens} SET revoked_at = now() WHERE ${and(isNull(apiTokens.revokedAt), where)} RETURNING id
    )
    SELECT id, pg_notify(${TOKEN_REVOKED_CHANNEL}, id::text) FROM revoked`);
  const ids = [...rows].map((r) => r.id);
  tokenCacheOf(db)?.evict(ids);
  return ids;
}
