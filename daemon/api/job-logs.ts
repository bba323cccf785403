import { consola } from "consola";
import type { AppDeps } from "./deps.ts";
import { archiveJobLog } from "../storage/job-logs.ts";
import { notifyLog } from "../storage/log-notify.ts";

/** New lines or a new status: wake followers on every replica. */
export async function logChanged(deps: AppDeps, jobId: string): Promise<void> {
  await notifyLog(deps.sql, jobId);
}

/**
 * A job has ended (or got late lines after it ended): wake followers, then move its log to the
 * archive. Archiving failing leaves the lines in Postgres, where readers still find them.
 */
export async function jobLogEnded(deps: AppDeps, jobId: string): Promise<void> {
  await notifyLog(deps.sql, jobId);
  try {
    await archiveJobLog(deps.sql, deps.archive, jobId);
  } catch (error) {
    consola.warn(`archiving the log of job ${jobId} failed (kept in Postgres): ${error instanceof Error ? error.message : String(error)}`);
  }
}
