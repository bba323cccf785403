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
import { JobSpans } from "./spans.ts";
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
  private readonly pending = new Set<Promise<void>>();
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
    await Promise.all([...this.pending]);
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

  /** Work that outlives its slot's turn (completing a task); stop() waits for it. */
  private track(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((error) => this.log.error(error instanceof Error ? error.message : String(error)))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async slot(index: number): Promise<void> {
    const { queue } = this.options;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let task: ClaimedTask | null;
      // Spans start before the claim: with jobs waiting, taking one is part of each job's cost.
      const spans = new JobSpans();
      try {
        task = await queue.next(signal);
      } catch (error) {
        this.log.warn(`slot ${index}: queue unavailable: ${error instanceof Error ? error.message : error}; retrying`);
        await Bun.sleep(1000);
        continue;
      }
      if (!task) continue;
      spans.mark("claim");
      this.active.set(task.uuid, task);
      try {
        const outcome = await new JobRun(task.jobId, {
          coordinator: this.options.coordinator,
          runtime: this.options.runtime,
          settings: this.options.settings,
          newMasker: this.options.newMasker ?? (() => new Masker()),
          spans,
        }).run();
        // Only a known outcome removes the task: if we could not report, the lease runs out and
        // another worker records the job's end instead of it staying `running` forever. The job's
        // end is recorded already, so the slot claims its next task while this one is completed.
        const done = task;
        this.track(
          queue
            .complete(done)
            .catch((error) => this.log.warn(`completing the task of job ${done.jobId}: ${error instanceof Error ? error.message : error}`))
            .then(() => {
              spans.mark("queue_complete");
              spans.report(done.jobId);
              this.options.onOutcome?.(done.jobId, outcome);
            }),
        );
        if (outcome.kind === "finished") this.log.info(`job ${task.jobId}: ${outcome.report.status} (${outcome.report.reason})`);
      } catch (error) {
        this.log.error(`job ${task.jobId}: ${error instanceof Error ? error.message : error}; its task is left to expire and be retried`);
      } finally {
        this.active.delete(task.uuid);
      }
    }
  }
}
