/**
 * Tokens verified shortly before, so a busy client's requests do not each cost a database
 * lookup. Safe because an entry lives at most a TTL (2 s), is checked against its token's expiry on
 * every use, and is dropped as soon as a revocation is heard: revokeTokens (tokens.ts) evicts
 * in this process at once and NOTIFYs every other process on the database, whose caches
 * LISTEN. A cache whose LISTEN connection was lost starts empty again when it is back; while it
 * is down, the TTL (2 s) bounds how long a revoked token can still be seen as valid.
 *
 * A database with no cache started (tests building their own app, the CLI) looks every token up.
 */
import type { Sql } from "postgres";
import type { Db } from "../db/client.ts";
import type { Principal } from "./tokens.ts";

export const TOKEN_REVOKED_CHANNEL = "reactorcide_token_revoked";
const DEFAULT_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  principal: Principal;
  /** Token expiry (ms since the epoch), null for none. */
  expiresAt: number | null;
  until: number;
}

class VerifiedTokens {
  private readonly byHash = new Map<string, Entry>();
  constructor(private readonly ttlMs: number) {}
  /** Whether LISTEN is up: without it nothing is cached. */
  listening = false;

  get(hash: string): Principal | undefined {
    const entry = this.byHash.get(hash);
    if (!entry) return undefined;
    const now = Date.now();
    if (entry.until <= now || (entry.expiresAt !== null && entry.expiresAt <= now)) {
      this.byHash.delete(hash);
      return undefined;
    }
    return entry.principal;
  }

  set(hash: string, principal: Principal, expiresAt: Date | null): void {
    if (!this.listening) return;
    if (this.byHash.size >= MAX_ENTRIES) this.byHash.delete(this.byHash.keys().next().value!);
    this.byHash.set(hash, { principal, expiresAt: expiresAt?.getTime() ?? null, until: Date.now() + this.ttlMs });
  }

  evict(tokenIds: readonly string[]): void {
    if (tokenIds.length === 0) return;
    const ids = new Set(tokenIds);
    for (const [hash, entry] of this.byHash) if (ids.has(entry.principal.tokenId)) this.byHash.delete(hash);
  }

  clear(): void {
    this.byHash.clear();
  }
}

const caches = new WeakMap<Db, VerifiedTokens>();

/** The cache of `db`, when one was started. */
export function tokenCacheOf(db: Db): VerifiedTokens | undefined {
  return caches.get(db);
}

/** Starts caching verified tokens for `db` (serve's coordinator) for `ttlMs` each; returns the stop. */
export async function cacheVerifiedTokens(db: Db, sql: Sql, ttlMs = DEFAULT_TTL_MS): Promise<() => Promise<void>> {
  const cache = new VerifiedTokens(ttlMs);
  caches.set(db, cache);
  try {
    const listening = await sql.listen(
      TOKEN_REVOKED_CHANNEL,
      (tokenId) => cache.evict([tokenId]),
      () => {
        // (Re)connected: what was revoked while the connection was down was not heard.
        cache.clear();
        cache.listening = true;
      },
    );
    return async () => {
      caches.delete(db);
      await listening.unlisten().catch(() => {});
    };
  } catch {
    caches.delete(db);
    return async () => {};
  }
}
