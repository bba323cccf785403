/**
 * Start-up recovery: a job row is committed as `queued` before its task is submitted, so a crash
 * or a queue outage in between (or a queue that lost its tasks) would leave the job queued with
 * nothing that ever delivers it. At start every such job gets a task again.
 */
import { consola } from "consola";
import { asc, desc, eq } from "drizzle-orm";
import { jobs } from "../../schema/app/index.ts";
import type { Database } from "../db/database.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { JOB_TASK_QUEUE } from "../../runner/protocol/index.ts";
import { jobIdOfPayload } from "../worker/corndogs-queue.ts";

/** Job ids that have a live (waiting or claimed) task in the embedded server's table. */
async function jobsWithTasks(database: Database): Promise<Set<string>> {
  const rows = await database.sql<{ payload: Buffer }[]>`SELECT payload FROM corndogs_tasks WHERE queue = ${JOB_TASK_QUEUE}`;
  const ids = new Set<string>();
  for (const row of rows) {
    try {
      ids.add(jobIdOfPayload(row.payload));
    } catch {
      // Not one of ours; workers drop such tasks.
    }
  }
  return ids;
}

/**
 * Submits a task for every queued job without one, highest priority first. With an external
 * Corndogs its tasks cannot be listed, so every queued job is submitted again; a duplicate is
 * harmless, because a worker takes a job only by moving it from queued to running, which
 * succeeds once, and drops the other task.
 */
export async function requeueStranded(database: Database, queue: JobQueue, queueIsLocal: boolean): Promise<number> {
  const queued = await database.db
    .select()
    .from(jobs)
    .where(eq(jobs.status, "queued"))
    .orderBy(desc(jobs.priority), asc(jobs.createdAt));
  if (queued.length === 0) return 0;
  const live = queueIsLocal ? await jobsWithTasks(database) : new Set<string>();
  const stranded = queued.filter((job) => !live.has(job.id));
  for (const job of stranded) await queue.enqueue(job);
  if (stranded.length > 0) {
    consola.info(
      queueIsLocal
        ? `re-submitted ${stranded.length} queued job(s) that had no task in the queue`
        : `re-submitted ${stranded.length} queued job(s) to the external queue (workers skip any duplicate)`,
    );
  }
  return stranded.length;
}
