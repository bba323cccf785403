/**
 * The worker loop: `concurrency` slots, each taking one task at a time from the queue and running
 * its job to the end. While jobs run, their leases are extended; the worker heartbeats to the
 * coordinator so the workers table shows it (seen, running jobs, capacity).
 */
import { consola } from "consola";
import { Masker } from "../../runner/secrets/masker.ts";
import type { Coordinator } from "./coordinator.ts";
import { JobRun, type JobRunOutcome, type SecretMasker } from "./job-run.ts";
import type { Runtime } from "./runtimes/runtime.ts";
import type { WorkerSettings } from "./settings.ts";
import type { ClaimedTask, WorkQueue } from "./work-queue.ts";

export interface WorkerOptions {
  queue: WorkQueue;
  coordinator: Coordinator;
  runtime: Runtime;
  settings: WorkerSettings;
  concurrency: number;
  /** Shown in the workers table; default the worker id. */
  name?: string;
  /** Seconds the queue keeps a claim without news; the lease is extended every third of it. */
  leaseSeconds: number;
  heartbeatMs?: number;
  newMasker?: () => SecretMasker;
  /** Each finished or skipped job, for callers that watch (tests, benchmarks). */
  onOutcome?: (jobId: string, outcome: JobRunOutcome) => void;
}

export class Worker {
  private readonly abort = new AbortController();
  private readonly active = new Map<string, ClaimedTask>();
  private slots: Promise<void>[] = [];
  private timers: Timer[] = [];
  private readonly log = consola.withTag("worker");

  constructor(private readonly options: WorkerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new Error(`--concurrency: must be a whole number of at least 1, got ${options.concurrency}`);
    }
  }

  get running(): number {
    return this.active.size;
  }

  start(): void {
    const { leaseSeconds, heartbeatMs = 10_000 } = this.options;
    this.timers.push(setInterval(() => void this.extendLeases(), (leaseSeconds * 1000) / 3));
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatMs));
    void this.heartbeat();
    this.slots = Array.from({ length: this.options.concurrency }, (_, i) => this.slot(i));
  }

  /** Takes no new tasks; resolves when the running jobs have ended. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.slots);
    for (const timer of this.timers) clearInterval(timer);
    await this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    const { settings, concurrency, runtime, coordinator } = this.options;
    try {
      await coordinator.heartbeat({ id: settings.workerId, name: this.options.name ?? settings.workerId, capacity: concurrency, running: this.active.size, runtime: runtime.name });
    } catch (error) {
      this.log.warn(`heartbeat failed: ${error instanceof Error ? error.message : error}`);
    }
  }

  private async extendLeases(): Promise<void> {
    await Promise.all(
      [...this.active.values()].map((task) =>
        this.options.queue.extend(task).catch((error) => this.log.warn(`could not extend the lease of job ${task.jobId}: ${error instanceof Error ? error.message : error}`)),
      ),
    );
  }

  private async slot(index: number): Promise<void> {
    const { queue } = this.options;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let task: ClaimedTask | null;
      try {
        task = await queue.next(signal);
      } catch (error) {
        this.log.warn(`slot ${index}: queue unavailable: ${error instanceof Error ? error.message : error}; retrying`);
        await Bun.sleep(1000);
        continue;
      }
      if (!task) continue;
      this.active.set(task.uuid, task);
      try {
        const outcome = await new JobRun(task.jobId, {
          coordinator: this.options.coordinator,
          runtime: this.options.runtime,
          settings: this.options.settings,
          newMasker: this.options.newMasker ?? (() => new Masker()),
        }).run();
        // Only a known outcome removes the task: if we could not report, the lease runs out and
        // another worker records the job's end instead of it staying `running` forever.
        await queue.complete(task).catch((error) => this.log.warn(`completing the task of job ${task!.jobId}: ${error instanceof Error ? error.message : error}`));
        this.options.onOutcome?.(task.jobId, outcome);
        if (outcome.kind === "finished") this.log.info(`job ${task.jobId}: ${outcome.report.status} (${outcome.report.reason})`);
      } catch (error) {
        this.log.error(`job ${task.jobId}: ${error instanceof Error ? error.message : error}; its task is left to expire and be retried`);
      } finally {
        this.active.delete(task.uuid);
      }
    }
  }
}
