import type { Sql } from "postgres";
import type { Db } from "../db/client.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { MasterKey } from "../secrets/cipher.ts";

/** Everything the HTTP app needs; serve builds these, tests build their own. */
export interface AppDeps {
  db: Db;
  sql: Sql;
  queue: JobQueue;
  /** Seals new values. */
  key: MasterKey;
  /** Older keys still accepted when opening values (rotation). */
  oldKeys?: readonly MasterKey[];
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** How often a followed log polls for new lines (default 250 ms). */
  logPollMs?: number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
