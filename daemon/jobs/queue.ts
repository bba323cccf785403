import type { Fragment } from "postgres";
import type { Job } from "./store.ts";

/**
 * The tasks of jobs being inserted, as part of the statement that inserts them (a queue on the
 * coordinator's own database): the job rows and their tasks commit together or not at all.
 */
export interface InlineTasks {
  /** A fragment for the jobs' INSERT statement (a WITH item). */
  sql: Fragment;
  /** After that statement committed: the queue remembers the tasks and wakes its consumers. */
  committed(): void;
}

/**
 * Where submitted jobs go to be picked up by workers. The coordinator calls enqueue after the
 * job row is committed (status `queued`) and cancel after it is marked cancelled. The one
 * implementation is CorndogsJobQueue (corndogs-job-queue.ts).
 */
export interface JobQueue {
  enqueue(job: Job): Promise<void>;
  cancel(job: Job): Promise<void>;
  /**
   * Instead of enqueue: the jobs' tasks inserted by the jobs' own statement, when the queue shares
   * the coordinator's database; undefined when it does not (then enqueue after the commit).
   */
  inline?(jobs: readonly Pick<Job, "id" | "priority">[]): InlineTasks | undefined;
}
