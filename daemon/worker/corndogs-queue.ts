/**
 * The worker's queue on Corndogs: claims with a lease (override_timeout), extends it with
 * UpdateTask in the same state while the job runs, and completes the task when the job's end is
 * recorded. A worker that dies stops extending; CleanUpTimedOut (run by the coordinator) then puts
 * the task back for another worker.
 */
import type { CorndogsClient, Task, WakeSource } from "../corndogs/client.ts";
import type { ClaimedTask, WorkQueue } from "./work-queue.ts";

export interface CorndogsWorkQueueOptions {
  /** Queue the coordinator submits jobs to. */
  queue: string;
  /** State new job tasks wait in (Corndogs default `submitted`). */
  state?: string;
  leaseSeconds: number;
  /** In-process wake-ups from an embedded server, so an idle slot sees a new job at once. */
  wake?: WakeSource;
}

/** The job id a task's payload carries: `{"job_id": "..."}` (or `jobId`/`id`), or the bare id. */
export function jobIdOfPayload(payload: Uint8Array): string {
  const text = new TextDecoder().decode(payload).trim();
  if (text.startsWith("{")) {
    const body = JSON.parse(text) as Record<string, unknown>;
    const id = body.job_id ?? body.jobId ?? body.id;
    if (typeof id !== "string" || !id) throw new Error(`task payload has no job id: ${text.slice(0, 200)}`);
    return id;
  }
  if (!text) throw new Error("task payload is empty; expected a job id");
  return text;
}

export class CorndogsWorkQueue implements WorkQueue {
  private readonly claimed = new Map<string, Task>();

  constructor(
    private readonly client: CorndogsClient,
    private readonly options: CorndogsWorkQueueOptions,
  ) {}

  async next(signal: AbortSignal): Promise<ClaimedTask | null> {
    let task: Task;
    try {
      task = await this.client.waitForTask(
        { queue: this.options.queue, currentState: this.options.state ?? "", overrideTimeout: this.options.leaseSeconds },
        { signal, wake: this.options.wake, maxDelayMs: 250 },
      );
    } catch (error) {
      if (signal.aborted) return null;
      throw error;
    }
    let jobId: string;
    try {
      jobId = jobIdOfPayload(task.payload);
    } catch (error) {
      // A task we can never run: take it off the queue rather than loop on it forever.
      await this.client.completeTask({ uuid: task.uuid, currentState: task.currentState }).catch(() => {});
      throw error;
    }
    this.claimed.set(task.uuid, task);
    return { uuid: task.uuid, jobId };
  }

  async extend(claim: ClaimedTask): Promise<void> {
    const task = this.claimed.get(claim.uuid);
    if (!task) return;
    // UpdateTask resets what it is not sent, so the states and priority are sent unchanged.
    await this.client.updateTask({
      uuid: task.uuid,
      currentState: task.currentState,
      newState: task.currentState,
      autoTargetState: task.autoTargetState,
      timeout: this.options.leaseSeconds,
      priority: task.priority,
    });
  }

  async complete(claim: ClaimedTask): Promise<void> {
    const task = this.claimed.get(claim.uuid);
    this.claimed.delete(claim.uuid);
    await this.client.completeTask({ uuid: claim.uuid, currentState: task?.currentState });
  }
}
