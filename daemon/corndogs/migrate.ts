import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Sql } from "postgres";
import { queueMigrationFiles } from "./migrations.ts";

export const QUEUE_MIGRATIONS_TABLE = "__corndogs_migrations";
// Any constant: several daemons starting on one database migrate one after the other.
const LOCK_KEY = 0x636f726e; // "corn"

/**
 * Applies the queue migrations (schema/migrations/queue) with drizzle's migrator, recorded in
 * drizzle.__corndogs_migrations, apart from the app's own migrations table.
 */
export async function migrateQueue(sql: Sql): Promise<void> {
  // The migrator reads a folder; the binary has the files only as embedded strings.
  const folder = mkdtempSync(join(tmpdir(), "corndogs-migrations-"));
  // The lock is held on a connection of its own while the migrator uses the pool.
  const lock = await sql.reserve();
  try {
    for (const [name, text] of Object.entries(queueMigrationFiles)) {
      mkdirSync(dirname(join(folder, name)), { recursive: true });
      writeFileSync(join(folder, name), text);
    }
    await lock`SELECT pg_advisory_lock(${LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), {
        migrationsFolder: folder,
        migrationsTable: QUEUE_MIGRATIONS_TABLE,
        migrationsSchema: "drizzle",
      });
    } finally {
      await lock`SELECT pg_advisory_unlock(${LOCK_KEY})`;
    }
  } finally {
    lock.release();
    rmSync(folder, { recursive: true, force: true });
  }
}
