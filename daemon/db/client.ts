import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres, { type Sql } from "postgres";
import * as schema from "../../schema/app/index.ts";

export type Db = PostgresJsDatabase<typeof schema>;

/** A postgres.js pool that keeps server notices out of the daemon's output. */
export function connect(url: string, max = 10): Sql {
  return postgres(url, { max, onnotice: () => {}, idle_timeout: 30 });
}

export function openDb(sql: Sql): Db {
  return drizzle(sql, { schema });
}

/** A transaction handle, as drizzle's `db.transaction(async (tx) => ...)` passes it. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Where a write may go: the pool, or a transaction it must be part of. */
export type DbOrTx = Db | Tx;
