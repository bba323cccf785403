import { and, desc, eq, getTableColumns, inArray, is, SQL, sql } from "drizzle-orm";
import type { Fragment, Sql } from "postgres";
import { isTerminalStatus, JOB_STATUSES, JOB_TRANSITIONS, type JobStatus, type JobStepResult, type LogStream } from "../../runner/protocol/index.ts";
import { jobLogChunks, jobs } from "../../schema/app/index.ts";
import type { Db, DbOrTx } from "../db/client.ts";
import { encodeLines } from "../../runner/protocol/log-line.ts";
import { dropLines, packChunk } from "../storage/log-chunk-codec.ts";
import { jobEvents } from "./events.ts";
import { JOB_EVENTS_CHANNEL, recordJobEvents } from "./outbox.ts";
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

const jobColumns = Object.entries(getTableColumns(jobs));
/** Columns the database fills at insert (now()): read back. Every other column is written from here. */
const filledColumns = jobColumns.filter(([, c]) => c.hasDefault && is(c.default, SQL) && !c.primary);
const writtenColumns = jobColumns.filter((entry) => !filledColumns.includes(entry));
/** Column lists of insertQueuedJobs's statement, quoted once (postgres.js helpers pick their form from the text around them). */
const quote = (names: string[]) => names.map((n) => `"${n.replaceAll('"', '""')}"`).join(", ");
const writtenList = quote(writtenColumns.map(([, c]) => c.name));
const filledList = quote(filledColumns.map(([, c]) => c.name));

/** The row as it will be stored: the values given, the columns' own defaults for the rest (the database's now() aside). */
function completeRow(values: NewJob): Job {
  const row: Record<string, unknown> = {};
  for (const [key, column] of writtenColumns) {
    const given = (values as Record<string, unknown>)[key];
    if (given !== undefined) row[key] = given;
    else if (column.defaultFn) row[key] = column.defaultFn();
    else if (column.onUpdateFn) row[key] = column.onUpdateFn();
    else if (!column.hasDefault) row[key] = null;
    else if (is(column.default, SQL)) throw new Error(`jobs.${key}: the insert must give it`); // the id
    else row[key] = structuredClone(column.default);
  }
  return row as Job;
}

/**
 * Inserts queued jobs (ids given) with their "submitted" events, and with `tasksOf`'s fragment
 * (the queue's tasks for them, JobQueue.inline) when it gives one, in ONE statement: the rows,
 * the events, their NOTIFY and the tasks commit together, in one round trip, and the statement's
 * text does not change with the number of jobs (prepared once per connection). The event is the
 * job as jobView shows it, from the row completed here, its created_at the database's.
 */
export async function insertQueuedJobs(
  pg: Sql,
  values: readonly (NewJob & { id: string })[],
  tasksOf?: (jobs: readonly Job[]) => Fragment | undefined,
): Promise<Job[]> {
  if (values.length === 0) return [];
  const rows = values.map(completeRow);
  const records = rows.map((row) => Object.fromEntries(writtenColumns.map(([key, c]) => [c.name, (row as Record<string, unknown>)[key]])));
  // created_at is the database's: set in the statement (as toISOString writes it).
  const views = rows.map((row) => jobView({ ...row, createdAt: new Date(0) }));
  const tasks = tasksOf?.(rows);
  const filled = await pg<Record<string, unknown>[]>`
    WITH j AS (
      INSERT INTO jobs (${pg.unsafe(writtenList)})
      SELECT ${pg.unsafe(writtenList)} FROM json_populate_recordset(NULL::jobs, ${JSON.stringify(records)}::json)
      RETURNING id, ${pg.unsafe(filledList)}
    ), e AS (
      INSERT INTO job_events (kind, job_id, job)
      SELECT 'submitted', j.id, jsonb_set(v.job, '{created_at}', to_jsonb(to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
      FROM jsonb_array_elements(${JSON.stringify(views)}::jsonb) WITH ORDINALITY AS v(job, n) JOIN j ON j.id = (v.job->>'id')::uuid
      ORDER BY v.n
      RETURNING id, job_id, job
    ), n AS (
      -- As recordJobEvents: sent at commit.
      SELECT pg_notify(${JOB_EVENTS_CHANNEL}, json_build_object('id', id, 'kind', 'submitted', 'job_id', job_id, 'project_id', job->>'project_id', 'status', job->>'status')::text)
      FROM e ORDER BY id
    )${tasks ? pg`, t AS (${tasks})` : pg``}
    SELECT j.*, (SELECT count(*) FROM n) AS notified FROM j`;
  const byId = new Map(filled.map((f) => [f.id as string, f]));
  return rows.map((row) => {
    const got = byId.get(row.id)!;
    for (const [key, c] of filledColumns) (row as Record<string, unknown>)[key] = c.mapFromDriverValue(got[c.name]);
    return row;
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
