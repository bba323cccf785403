import { count, eq, sql } from "drizzle-orm";
import { users } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import { issueToken, type Issued } from "./tokens.ts";

/** The user with this name, created when missing; `admin` only ever raises the flag. */
export async function ensureUser(db: Db, name: string, admin = false): Promise<{ id: string; isAdmin: boolean }> {
  const [row] = await db
    .insert(users)
    .values({ name, isAdmin: admin })
    .onConflictDoUpdate({ target: users.name, set: { isAdmin: sql`${users.isAdmin} OR ${admin}` } })
    .returning({ id: users.id, isAdmin: users.isAdmin });
  return row!;
}

/**
 * On a database with no users, creates the `admin` user and its first token (returned, to be
 * shown once). Serialised by a transaction-level advisory lock so two starts never both create one.
 */
export async function bootstrapAdmin(db: Db): Promise<Issued | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${0x61646d6e})`);
    const [existing] = await tx.select({ n: count() }).from(users);
    if (existing && existing.n > 0) return undefined;
    const [admin] = await tx.insert(users).values({ name: "admin", isAdmin: true }).returning({ id: users.id });
    return issueToken(tx, { userId: admin!.id, name: "bootstrap admin" });
  });
}

export async function findUserByName(db: Db, name: string) {
  const [row] = await db.select().from(users).where(eq(users.name, name)).limit(1);
  return row;
}
