import { createHash } from "node:crypto";
import type { MigrationMeta } from "drizzle-orm/migrator";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Sql } from "postgres";
import { appJournal, appMigrationSql } from "./app-migrations.ts";
import { drizzle } from "drizzle-orm/postgres-js";

export const APP_MIGRATIONS_TABLE = "__reactorcide_migrations";
// Several daemons starting on one database migrate one after the other.
const LOCK_KEY = 0x72637464; // "rctd"

/** The journal's migrations in the shape drizzle's migrator reads from a folder (same hashes). */
export function appMigrations(): MigrationMeta[] {
  return appJournal.map((entry) => {
    const text = appMigrationSql[entry.tag];
    if (text === undefined) throw new Error(`migration ${entry.tag} is in the journal but not in daemon/db/app-migrations.ts`);
    return {
      sql: text.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(text).digest("hex"),
    };
  });
}

/** Applies pending app migrations (schema/migrations/app) under an advisory lock. */
export async function migrateApp(sql: Sql): Promise<void> {
  const lock = await sql.reserve();
  try {
    await lock`SELECT pg_advisory_lock(${LOCK_KEY})`;
    try {
      // drizzle's own postgres-js migrator does this same call, but reads the files from a folder.
      const session = drizzle(sql)._.session as unknown as Parameters<PgDialect["migrate"]>[1];
      await new PgDialect().migrate(appMigrations(), session, {
        migrationsFolder: "(embedded)",
        migrationsTable: APP_MIGRATIONS_TABLE,
        migrationsSchema: "public",
      });
    } finally {
      await lock`SELECT pg_advisory_unlock(${LOCK_KEY})`;
    }
  } finally {
    lock.release();
  }
}
