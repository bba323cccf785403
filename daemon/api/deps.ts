import type { Sql } from "postgres";
import type { Db } from "../db/client.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { Notifier } from "../notifications/dispatcher.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import type { LogArchive } from "../storage/log-archive.ts";
import type { WorkflowLimits } from "../workflows/limits.ts";

/** Everything the HTTP app needs; serve builds these, tests build their own. */
export interface AppDeps {
  db: Db;
  sql: Sql;
  queue: JobQueue;
  /** Where a finished job's log goes when it leaves Postgres (daemon/storage). */
  archive: LogArchive;
  /** Seals new values. */
  key: MasterKey;
  /** Older keys still accepted when opening values (rotation). */
  oldKeys?: readonly MasterKey[];
  /** Sends notifications (the outbox's dispatcher); the API uses it for test deliveries. */
  notifier: Notifier;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Longest a followed log waits for a NOTIFY before looking anyway (default 1000 ms). */
  logPollMs?: number;
  /** VCS events (daemon/vcs): told when a webhook delivery waits to be processed. Absent: deliveries are recorded only. */
  vcs?: { deliveryRecorded(): void };
  /** How often a followed log checks that its reader's token and role still hold (default 15 s). */
  accessRecheckMs?: number;
  /** How far triggers may grow a workflow run (default DEFAULT_WORKFLOW_LIMITS). */
  workflowLimits?: WorkflowLimits;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
