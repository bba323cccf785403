/**
 * What the worker loop needs of the task queue: a claimed task carries only the job id (never
 * secrets); the claim is a lease the worker keeps extending while the job runs.
 */
export interface ClaimedTask {
  /** The queue's id for this task. */
  uuid: string;
  jobId: string;
}

export interface WorkQueue {
  /** Waits for and claims the next task (with a lease); null once `signal` aborts. */
  next(signal: AbortSignal): Promise<ClaimedTask | null>;
  /** Extends the lease; throws when the task is not ours any more. */
  extend(task: ClaimedTask): Promise<void>;
  /** Removes the task from the queue for good. */
  complete(task: ClaimedTask): Promise<void>;
}
