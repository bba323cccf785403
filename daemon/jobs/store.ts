import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { isTerminalStatus, JOB_STATUSES, JOB_TRANSITIONS, type JobStatus, type JobStepResult, type LogStream } from "../../runner/protocol/index.ts";
import { jobLogChunks, jobs } from "../../schema/app/index.ts";
import type { Db, DbOrTx } from "../db/client.ts";
import { encodeLines } from "../../runner/protocol/log-line.ts";
import { dropLines, packChunk } from "../storage/log-chunk-codec.ts";
import { jobEvents } from "./events.ts";
import { recordJobEvents } from "./outbox.ts";
import { jobView } from "./view.ts";

export type Job = typeof jobs.$inferSelect;
export type NewJob = typeof jobs.$inferInsert;

/**
 * Inserts queued jobs and records their "job submitted" events in the same transaction (the
 * caller's, when `db` is one). The caller hands them to the queue after the commit.
 */
export async function insertJobs(db: DbOrTx, values: readonly NewJob[]): Promise<Job[]> {
  if (values.length === 0) return [];
  return db.transaction(async (tx) => {
    const rows = await tx.insert(jobs).values([...values]).returning();
    await recordJobEvents(tx, "submitted", rows.map(jobView));
    return rows;
  });
}

export async function insertJob(db: DbOrTx, values: NewJob): Promise<Job> {
  return (await insertJobs(db, [values]))[0]!;
}

export async function getJob(db: DbOrTx, id: string): Promise<Job | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  return row;
}

export interface JobFilter {
  /** Only these projects (undefined: all). */
  projectIds?: string[];
  status?: JobStatus;
  name?: string;
  limit: number;
  offset: number;
}

/** Newest first. */
export async function listJobs(db: Db, filter: JobFilter): Promise<Job[]> {
  const where: SQL[] = [];
  if (filter.projectIds) {
    if (filter.projectIds.length === 0) return [];
    where.push(inArray(jobs.projectId, filter.projectIds));
  }
  if (filter.status) where.push(eq(jobs.status, filter.status));
  if (filter.name) where.push(eq(jobs.name, filter.name));
  return db
    .select()
    .from(jobs)
    .where(and(...where))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(filter.limit)
    .offset(filter.offset);
}

export interface TransitionDetails {
  exitCode?: number | null;
  reason?: string | null;
  workerId?: string | null;
  /** The image the worker runs the job in; recorded only when the job named none. */
  image?: string;
  /** A job of steps' results, with its end. */
  stepResults?: JobStepResult[];
}

export type TransitionResult = { ok: true; job: Job } | { ok: false; current?: JobStatus };

/**
 * Moves a job to `to` only from a status that may lead there (a guarded UPDATE; the trigger from
 * the migration refuses anything else too). Reports the current status when the move is refused.
 * An end status records the "job ended" event in the same transaction.
 */
export async function transitionJob(db: DbOrTx, id: string, to: JobStatus, details: TransitionDetails = {}): Promise<TransitionResult> {
  const from = JOB_STATUSES.filter((s) => JOB_TRANSITIONS[s].includes(to));
  const now = new Date();
  const set: Partial<NewJob> = { status: to, updatedAt: now };
  if (to === "running") set.startedAt = now;
  else set.finishedAt = now;
  if (details.exitCode !== undefined) set.exitCode = details.exitCode;
  if (details.reason !== undefined) set.reason = details.reason;
  if (details.workerId !== undefined) set.workerId = details.workerId;
  if (details.stepResults !== undefined) set.stepResults = details.stepResults;
  if (details.image !== undefined) set.image = sql`coalesce(${jobs.image}, ${details.image})` as unknown as string;
  const [row] = from.length
    ? await db.transaction(async (tx) => {
        const changed = await tx.update(jobs).set(set).where(and(eq(jobs.id, id), inArray(jobs.status, from))).returning();
        if (isTerminalStatus(to)) await recordJobEvents(tx, "ended", changed.map(jobView));
        return changed;
      })
    : [];
  if (row) {
    jobEvents.changed(row);
    return { ok: true, job: row };
  }
  const current = await getJob(db, id);
  return { ok: false, current: current?.status };
}

export interface LogLine {
  stream?: LogStream;
  line: string;
}

export type LogsStored = {
  /** The job's last line number after this batch. */
  last: number;
  status: JobStatus;
  /** Lines this call stored: 0 for a batch the job already had. */
  appended: number;
  /** Lines of the job's worker stored, by the worker's own count (log_shipped). */
  shipped: number;
};

/** A worker's batch that would leave a gap: the lines between what is stored and its offset never arrived. */
export class LogGapError extends Error {
  constructor(
    readonly shipped: number,
    readonly offset: number,
  ) {
    super(`the job holds ${shipped} lines from its worker; a batch at offset ${offset} would leave a gap`);
    this.name = "LogGapError";
  }
}

/** Lines appended as one chunk row: their stored form packed (log-chunk-codec.ts), and how many. */
export interface PackedLines {
  packed: Uint8Array;
  lines: number;
}

/** Appends lines in order (see appendChunk); the coordinator's own lines and JSON batches. */
export function appendLogs(db: Db, jobId: string, lines: readonly LogLine[], offset?: number): Promise<LogsStored | undefined> {
  if (lines.length === 0) return appendChunk(db, jobId, { packed: new Uint8Array(), lines: 0 }, offset);
  return appendChunk(db, jobId, { packed: packChunk(encodeLines(lines)), lines: lines.length }, offset);
}

/**
 * Appends a chunk of lines in order, numbering them after the job's last line, as one row in one
 * statement (the counter row's lock orders concurrent batches for a job). Returns where the log
 * stands, or undefined when there is no such job.
 *
 * With `offset` (the worker's count of lines it shipped before these) the chunk is stored only if
 * it continues what the worker shipped: a chunk sent again is acknowledged without storing it, the
 * new tail of one that overlaps is stored, and one that would leave a gap throws LogGapError. The
 * coordinator's own lines (no offset) are numbered in between and do not move the worker's count.
 */
export async function appendChunk(db: Db, jobId: string, chunk: PackedLines, offset?: number): Promise<LogsStored | undefined> {
  const n = chunk.lines;
  const where = offset === undefined ? sql`id = ${jobId}` : sql`id = ${jobId} AND log_shipped = ${offset}`;
  const shippedAfter = offset === undefined ? sql`log_shipped` : sql`log_shipped + ${n}`;
  const rows =
    n === 0
      ? []
      : await db.execute<LogsStored>(sql`
    WITH counter AS (
      UPDATE ${jobs} SET log_lines = log_lines + ${n}, log_shipped = ${shippedAfter} WHERE ${where} RETURNING log_lines, log_shipped, status
    )
    INSERT INTO ${jobLogChunks} (job_id, first_seq, last_seq, packed)
    SELECT ${jobId}, log_lines - ${n} + 1, log_lines, ${Buffer.from(chunk.packed.buffer, chunk.packed.byteOffset, chunk.packed.byteLength)} FROM counter
    RETURNING last_seq AS last, (SELECT status FROM counter) AS status, ${n}::int AS appended, (SELECT log_shipped FROM counter) AS shipped`);
  if (rows[0]) return rows[0];
  const [job] = await db.select({ last: jobs.logLines, status: jobs.status, shipped: jobs.logShipped }).from(jobs).where(eq(jobs.id, jobId));
  if (!job) return undefined;
  if (offset === undefined || job.shipped >= offset + n) return { ...job, appended: 0 };
  if (job.shipped < offset) throw new LogGapError(job.shipped, offset);
  // Part of it is stored (a sender that cut its batches differently the second time): the rest.
  const stored = job.shipped - offset;
  return appendChunk(db, jobId, { packed: dropLines(chunk.packed, stored), lines: n - stored }, job.shipped);
}
