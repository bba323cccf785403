import { status } from "@grpc/grpc-js";
import { consola } from "consola";
import { JOB_TASK_QUEUE } from "../../runner/protocol/index.ts";
import type { InlineTasks, JobQueue } from "./queue.ts";
import type { Job } from "./store.ts";
import type { FinishTaskInput, SubmitTaskInput, Task } from "../corndogs/client.ts";
import { CorndogsError } from "../corndogs/errors.ts";

/** The state a job's task waits in until a worker claims it (Corndogs' default). */
const WAITING = "submitted";

/** A job's task payload: its id only. Secrets and the job spec stay in the coordinator. */
export function jobTaskPayload(jobId: string): string {
  return JSON.stringify({ job_id: jobId });
}

type QueuedJob = Pick<Job, "id" | "priority">;

/**
 * What the job queue needs of Corndogs: the gRPC client (CorndogsClient), or the embedded
 * server's own handlers called in this process (in-process-corndogs.ts).
 */
export interface TaskSubmitter {
  submitTask(input: SubmitTaskInput): Promise<Pick<Task, "uuid">>;
  cancelTask(input: FinishTaskInput): Promise<unknown>;
  /** Only a queue on the coordinator's own database: the tasks' INSERT for the caller's statement (see JobQueue.inline). */
  inlineTasks?(inputs: readonly SubmitTaskInput[]): { sql: InlineTasks["sql"]; uuids: string[]; committed(): void };
}

export interface CorndogsJobQueueOptions {
  /** Task uuids kept for cancel (default 10,000). */
  remember?: number;
  /** First delay before submitting again after the queue refused or could not be reached; doubles up to 30 s. */
  retryMs?: number;
}

/**
 * The coordinator's JobQueue on Corndogs: enqueue submits a task carrying the job id with the
 * job's priority; cancel withdraws the task while no worker holds it (a worker that already
 * holds it sees the job cancelled through the coordinator). Calls made before `attach` wait for
 * the client, so the API can start before the queue does.
 *
 * The job row is already committed as queued when enqueue runs, so a submit that fails (queue
 * down) is not an error for the caller: the job is kept and submitted again with backoff until
 * the queue takes it. A crash before that is covered by serve's start-up recovery.
 */
export class CorndogsJobQueue implements JobQueue {
  private client: TaskSubmitter | undefined;
  private readonly ready: Promise<TaskSubmitter>;
  private resolveReady!: (client: TaskSubmitter) => void;
  /**
   * Task uuid per job enqueued by this process, for cancel. Bounded: the oldest entries go first
   * (their jobs have long been claimed), and a job missing here is handled as after a restart.
   */
  private readonly tasks = new Map<string, string>();
  private readonly remember: number;
  /** Jobs whose submit failed, waiting for the next retry. */
  private readonly pending = new Map<string, QueuedJob>();
  private readonly retryMs: number;
  private retryDelay: number;
  private retryTimer: Timer | undefined;
  private readonly log = consola.withTag("queue");

  constructor(
    private readonly queue = JOB_TASK_QUEUE,
    options: CorndogsJobQueueOptions = {},
  ) {
    this.remember = options.remember ?? 10_000;
    this.retryMs = this.retryDelay = options.retryMs ?? 1_000;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  /** Jobs whose task could not be submitted yet. */
  get waiting(): number {
    return this.pending.size;
  }

  attach(client: TaskSubmitter): void {
    this.client = client;
    this.resolveReady(client);
  }

  async enqueue(job: QueuedJob): Promise<void> {
    try {
      await this.submit(job);
    } catch (error) {
      if (this.pending.size === 0) {
        this.log.warn(`the task queue did not take job ${job.id} (${error instanceof Error ? error.message : error}); it stays queued and is submitted again until the queue takes it`);
      }
      this.pending.set(job.id, { id: job.id, priority: job.priority });
      this.scheduleRetry();
    }
  }

  inline(jobs: readonly QueuedJob[]): InlineTasks | undefined {
    if (!this.client?.inlineTasks) return undefined;
    const inserted = this.client.inlineTasks(jobs.map((job) => this.taskOf(job)));
    return {
      sql: inserted.sql,
      committed: () => {
        inserted.committed();
        jobs.forEach((job, i) => this.rememberTask(job.id, inserted.uuids[i]!));
      },
    };
  }

  private taskOf(job: QueuedJob): SubmitTaskInput {
    return { queue: this.queue, currentState: WAITING, payload: jobTaskPayload(job.id), priority: job.priority };
  }

  private async submit(job: QueuedJob): Promise<void> {
    const client = this.client ?? (await this.ready);
    const task = await client.submitTask(this.taskOf(job));
    this.rememberTask(job.id, task.uuid);
  }

  private rememberTask(jobId: string, uuid: string): void {
    this.tasks.set(jobId, uuid);
    if (this.tasks.size > this.remember) this.tasks.delete(this.tasks.keys().next().value!);
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => void this.retry(), this.retryDelay);
  }

  private async retry(): Promise<void> {
    for (const job of [...this.pending.values()].sort((a, b) => b.priority - a.priority)) {
      // Cancelled meanwhile: nothing to submit.
      if (!this.pending.has(job.id)) continue;
      try {
        await this.submit(job);
        this.pending.delete(job.id);
      } catch {
        break;
      }
    }
    this.retryTimer = undefined;
    if (this.pending.size === 0) {
      this.log.info("the task queue takes jobs again; every waiting job was submitted");
      this.retryDelay = this.retryMs;
      return;
    }
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
    this.scheduleRetry();
  }

  /** Stops retrying (at shutdown); jobs still waiting are submitted by the next start's recovery. */
  close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  async cancel(job: Pick<Job, "id">): Promise<void> {
    if (this.pending.delete(job.id)) return;
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
