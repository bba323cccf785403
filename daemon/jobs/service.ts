/**
 * The job service: the one place jobs are submitted, retried, cancelled, started and finished.
 * Route handlers validate and authorise, then call it; the workflow engine and VCS events insert
 * their jobs through the same store functions (store.ts), so every job's "submitted" and "ended"
 * is recorded in the transaction of the change (outbox.ts) and reaches every subscriber, also
 * after a crash.
 *
 * Subscribing from a feature (workflow advance, commit statuses, notifications):
 *
 *   // in buildApp / startCoordinator, before the coordinator starts the bus:
 *   const { jobs } = buildApp(deps);
 *   jobs.events.subscribe("notifications", async (event, tx) => {
 *     if (event.kind === "ended") await tx.insert(myOutbox).values({ jobId: event.job.id, status: event.job.status });
 *   });
 *   // live views (not durable, every replica): jobs.events.watch((notice) => push(notice.job_id, notice.status));
 *
 * See outbox.ts for the delivery guarantees (in the delivery's transaction, retried, each
 * event once per subscriber name across replicas).
 */
import { eq, max, or } from "drizzle-orm";
import { DEFAULT_JOB_TIMEOUT, isTerminalStatus, type JobStepResult, type JobSubmit, type TerminalStatus } from "../../runner/protocol/index.ts";
import { jobs as jobsTable, type projects } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { Sql } from "postgres";
import { existingSecretKeys } from "../secrets/store.ts";
import { parseMemory } from "../worker/settings.ts";
import { failpoint } from "../failpoints.ts";
import { JobEventBus } from "./outbox.ts";
import type { InlineTasks, JobQueue } from "./queue.ts";
import { GroupCommit } from "../db/group-commit.ts";
import { getJob, insertJob, insertQueuedJobs, transitionJob, type Job, type NewJob, type TransitionResult } from "./store.ts";

type Project = typeof projects.$inferSelect;

/** A submission the service refuses: the field and what is wrong (the API answers 400). */
export class JobInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "JobInputError";
  }
}

/** A change the job's status does not allow (the API answers 409); `current` is undefined when the job is gone. */
export class JobStateError extends Error {
  constructor(
    message: string,
    readonly current: Job["status"] | undefined,
  ) {
    super(message);
    this.name = "JobStateError";
  }
}

export interface JobServiceDeps {
  db: Db;
  sql: Sql;
  queue: JobQueue;
  /** Work that must follow a job's end in this process (job tokens revoked, log archived). */
  afterEnd?: (job: Job) => Promise<void>;
  /** Longest the event bus waits for a NOTIFY before looking anyway (default 1000 ms). */
  eventPollMs?: number;
}

export interface FinishReport {
  status: TerminalStatus;
  exitCode?: number | null;
  reason?: string | null;
  stepResults?: JobStepResult[];
}

export class JobService {
  readonly events: JobEventBus;
  /**
   * Submissions that arrive together are inserted together: one statement for the batch (the
   * rows, their events and, with the queue on this database, their tasks: store.ts
   * insertQueuedJobs), each caller answered after the commit that holds its job.
   */
  private readonly inserts: GroupCommit<NewJob, { job: Job; enqueued: boolean }>;

  constructor(private readonly deps: JobServiceDeps) {
    this.events = new JobEventBus(deps.db, deps.sql, { pollMs: deps.eventPollMs });
    this.inserts = new GroupCommit(async (values) => {
      const withIds = values.map((v) => ({ ...v, id: v.id ?? crypto.randomUUID() }));
      // A queue on this database takes the tasks in the jobs' own statement (atomic with them).
      let inline: InlineTasks | undefined;
      const jobs = await insertQueuedJobs(deps.sql, withIds, (rows) => (inline = deps.queue.inline?.(rows))?.sql);
      inline?.committed();
      return jobs.map((job) => ({ job, enqueued: inline !== undefined }));
    });
  }

  /** A new queued job of `project` (the caller checked the submitter may write there). */
  async submit(project: Project, body: JobSubmit, submittedBy: string | null): Promise<Job> {
    const { db } = this.deps;
    // One argument of a process may be 128 KiB; 65536 characters of UTF-8 can be more.
    if (Buffer.byteLength(body.command) > 65536) throw new JobInputError("command", "must be at most 65536 bytes of UTF-8");
    // Refused here rather than when a worker takes the job (a size below the container minimum).
    if (body.resources?.memory !== undefined) {
      try {
        parseMemory(body.resources.memory);
      } catch (error) {
        throw new JobInputError("resources.memory", (error as Error).message.replace(/^[^:]*: /, ""));
      }
    }
    const wanted = [...new Set(body.secrets ?? [])];
    const known = await existingSecretKeys(db, project.id, wanted);
    const missing = wanted.filter((k) => !known.has(k));
    if (missing.length) throw new JobInputError("secrets", `project ${project.name} has no secret ${missing.join(", ")}`);
    const parent = body.parent_job_id ? await getJob(db, body.parent_job_id) : undefined;
    if (body.parent_job_id && (!parent || parent.projectId !== project.id)) throw new JobInputError("parent_job_id", "no such job in this project");
    const { job, enqueued } = await this.inserts.add({
      projectId: project.id,
      name: body.name,
      command: body.command,
      // Neither the job nor its project names one: the worker's --default-image applies, and the
      // job shows it once a worker took it.
      image: body.image ?? project.defaultImage ?? null,
      env: body.env ?? {},
      secretRefs: wanted,
      source: body.source ?? null,
      ciSource: body.ci_source ?? (project.ciSourceUrl ? { type: "git", url: project.ciSourceUrl, ...(project.ciSourceRef ? { ref: project.ciSourceRef } : {}) } : null),
      timeoutSeconds: body.timeout ?? DEFAULT_JOB_TIMEOUT,
      priority: body.priority ?? 0,
      resources: body.resources ?? null,
      network: body.network ?? "default",
      retries: body.retries ?? 0,
      // Trust flows down: a child of an untrusted job is untrusted, whatever it asks for.
      untrusted: body.untrusted === true || parent?.untrusted === true,
      parentJobId: body.parent_job_id ?? null,
      submittedBy,
    });
    if (enqueued) this.events.wake("submitted");
    else await this.queued(job);
    return job;
  }

  /** An ended job again, as a new attempt linked to the first; everything else (trust too) is kept. */
  async retry(job: Job, submittedBy: string | null): Promise<Job> {
    const { db } = this.deps;
    if (!isTerminalStatus(job.status)) throw new JobStateError(`job is still ${job.status}; only an ended job can be retried`, job.status);
    const first = job.retryOf ?? job.id;
    const [latest] = await db
      .select({ attempt: max(jobsTable.attempt) })
      .from(jobsTable)
      .where(or(eq(jobsTable.id, first), eq(jobsTable.retryOf, first)));
    const retry = await insertJob(db, {
      projectId: job.projectId,
      name: job.name,
      command: job.command,
      steps: job.steps,
      image: job.image,
      env: job.env,
      secretRefs: job.secretRefs,
      secretEnvNames: job.secretEnvNames,
      source: job.source,
      ciSource: job.ciSource,
      timeoutSeconds: job.timeoutSeconds,
      priority: job.priority,
      resources: job.resources,
      network: job.network,
      retries: job.retries,
      untrusted: job.untrusted,
      parentJobId: job.parentJobId,
      workflowRunId: job.workflowRunId,
      attempt: (latest?.attempt ?? job.attempt) + 1,
      retryOf: first,
      submittedBy,
    });
    await this.queued(retry);
    return retry;
  }

  /** A queued or running job ends `cancelled`; a worker running it sees that and stops it. */
  async cancel(job: Job, reason: string): Promise<Job> {
    const result = await transitionJob(this.deps.db, job.id, "cancelled", { reason });
    const ended = this.orConflict(result, `job is already ${result.ok ? "" : (result.current ?? "gone")}`);
    await this.deps.queue.cancel(ended);
    await this.ended(ended);
    return ended;
  }

  /** queued → running on `workerId`, recording the image it runs (when the job named none). */
  async start(jobId: string, workerId: string | undefined, image: string | undefined): Promise<Job> {
    const result = await transitionJob(this.deps.db, jobId, "running", { workerId, image });
    return this.orConflict(result, `job is ${result.ok ? "" : result.current}; it cannot become running`);
  }

  /** running → an end status, reported by the worker (or the one that found it abandoned). */
  async finish(jobId: string, report: FinishReport & { workerId?: string }): Promise<Job> {
    const result = await transitionJob(this.deps.db, jobId, report.status, { exitCode: report.exitCode, reason: report.reason, workerId: report.workerId, stepResults: report.stepResults });
    const job = this.orConflict(result, `job is ${result.ok ? "" : result.current}; it cannot become ${report.status}`);
    await this.ended(job);
    return job;
  }

  private orConflict(result: TransitionResult, message: string): Job {
    if (result.ok) return result.job;
    throw new JobStateError(message, result.current);
  }

  private async queued(job: Job): Promise<void> {
    // After the commit: a crash before this is covered by serve's start-up requeue.
    await this.deps.queue.enqueue(job);
    this.events.wake("submitted");
  }

  private async ended(job: Job): Promise<void> {
    // The end and its event are committed; nothing has been handed to a subscriber yet.
    failpoint("jobs.ended", job.name);
    this.events.wake("ended");
    await this.deps.afterEnd?.(job);
  }
}
