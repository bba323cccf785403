import type { Job } from "./store.ts";

/**
 * Where submitted jobs go to be picked up by workers. The coordinator calls enqueue after the
 * job row is committed (status `queued`) and cancel after it is marked cancelled.
 */
export interface JobQueue {
  enqueue(job: Job): Promise<void>;
  cancel(job: Job): Promise<void>;
}

/**
 * The default: the job row itself is the queue record. Workers claim queued rows through
 * POST /api/v1/internal/jobs/claim (claimNextJob in store.ts, FOR UPDATE SKIP LOCKED), and a
 * cancelled row is simply never claimed, so neither call has anything to do.
 */
export const postgresJobQueue: JobQueue = {
  enqueue: async () => {},
  cancel: async () => {},
};
