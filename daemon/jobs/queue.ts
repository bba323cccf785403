import type { Job } from "./store.ts";

/**
 * Where submitted jobs go to be picked up by workers. The coordinator calls enqueue after the
 * job row is committed (status `queued`) and cancel after it is marked cancelled. The one
 * implementation is CorndogsJobQueue (corndogs-job-queue.ts).
 */
export interface JobQueue {
  enqueue(job: Job): Promise<void>;
  cancel(job: Job): Promise<void>;
}
