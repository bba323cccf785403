import { status } from "@grpc/grpc-js";
import type { JobQueue } from "../jobs/queue.ts";
import type { Job } from "../jobs/store.ts";
import type { CorndogsClient } from "./client.ts";
import { CorndogsError } from "./errors.ts";

/** The Corndogs queue jobs travel on (daemon/worker/start.ts takes its JOB_QUEUE from here). */
export const JOB_TASK_QUEUE = "reactorcide-jobs";
/** The state a job's task waits in until a worker claims it (Corndogs' default). */
const WAITING = "submitted";

/** A job's task payload: its id only. Secrets and the job spec stay in the coordinator. */
export function jobTaskPayload(jobId: string): string {
  return JSON.stringify({ job_id: jobId });
}

/**
 * The coordinator's JobQueue on Corndogs: enqueue submits a task carrying the job id with the
 * job's priority; cancel withdraws the task while no worker holds it (a worker that already
 * holds it sees the job cancelled through the coordinator). Calls made before `attach` wait for
 * the client, so the API can start before the queue does.
 */
export class CorndogsJobQueue implements JobQueue {
  private client: CorndogsClient | undefined;
  private readonly ready: Promise<CorndogsClient>;
  private resolveReady!: (client: CorndogsClient) => void;
  /**
   * Task uuid per job enqueued by this process, for cancel. Bounded: the oldest entries go first
   * (their jobs have long been claimed), and a job missing here is handled as after a restart.
   */
  private readonly tasks = new Map<string, string>();
  private readonly remember: number;

  constructor(
    private readonly queue = JOB_TASK_QUEUE,
    options: { remember?: number } = {},
  ) {
    this.remember = options.remember ?? 10_000;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  attach(client: CorndogsClient): void {
    this.client = client;
    this.resolveReady(client);
  }

  async enqueue(job: Pick<Job, "id" | "priority">): Promise<void> {
    const client = this.client ?? (await this.ready);
    const task = await client.submitTask({ queue: this.queue, currentState: WAITING, payload: jobTaskPayload(job.id), priority: job.priority });
    this.tasks.set(job.id, task.uuid);
    if (this.tasks.size > this.remember) this.tasks.delete(this.tasks.keys().next().value!);
  }

  async cancel(job: Pick<Job, "id">): Promise<void> {
    const uuid = this.tasks.get(job.id);
    // Unknown here (enqueued before a restart): the worker that claims it finds the job cancelled and drops it.
    if (!uuid) return;
    const client = this.client ?? (await this.ready);
    try {
      await client.cancelTask({ uuid, currentState: WAITING });
    } catch (error) {
      // Already claimed: the worker running it stops it when it sees the job cancelled.
      if (!(error instanceof CorndogsError && error.code === status.FAILED_PRECONDITION)) throw error;
    }
    this.tasks.delete(job.id);
  }
}
