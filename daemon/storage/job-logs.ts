/**
 * A job's log over its life: chunks in Postgres (job_log_chunks) while it runs, then the whole log
 * in the archive, with the rows deleted. Readers call `readJobLog` and never need to know which it
 * is; it reads both as streams, a few chunks at a time, so a 50 MB log costs no more memory to
 * serve than a small one. Archiving appends to what the archive already holds, so late lines (a
 * worker's last words after a cancel) are moved too, and running it twice changes nothing.
 */
import type { Sql } from "postgres";
import { decodeLine, type LogStreamName } from "../../runner/protocol/log-line.ts";
import { batchesOfLines, type LogArchive } from "./log-archive.ts";
import { chunkText } from "./log-chunk-codec.ts";

export interface ArchivedLine {
  seq: number;
  stream: LogStreamName;
  line: string;
}

/** Chunks fetched per query: each is one shipped batch (at most a few MB), so a reader holds one at a time. */
const CHUNKS_PER_READ = 1;

interface ChunkRow {
  first_seq: number;
  last_seq: number;
  /** Stored-form text: one line each, "\n" after each. */
  body: string;
}

async function* liveChunks(sql: Sql, jobId: string, fromSeq: number): AsyncGenerator<ChunkRow> {
  let next = fromSeq;
  for (;;) {
    const rows = await sql<(Omit<ChunkRow, "body"> & { body: string | null; packed: Uint8Array | null })[]>`
      SELECT first_seq, last_seq, body, packed FROM job_log_chunks
      WHERE job_id = ${jobId} AND last_seq >= ${next} ORDER BY first_seq LIMIT ${CHUNKS_PER_READ}`;
    for (const row of rows) {
      yield { first_seq: row.first_seq, last_seq: row.last_seq, body: chunkText(row) };
      next = row.last_seq + 1;
    }
    if (rows.length < CHUNKS_PER_READ) return;
  }
}

/** Lines of the archived log as batches of their stored form, numbered from 1. */
async function* archivedBatches(archive: LogArchive, jobId: string): AsyncGenerator<{ first: number; lines: string[] }> {
  const stream = await archive.open(jobId);
  if (!stream) return;
  let seq = 1;
  for await (const lines of batchesOfLines(stream)) {
    yield { first: seq, lines };
    seq += lines.length;
  }
}

/**
 * Lines after `after`, at most `limit`, in batches, from the archive and Postgres together. The
 * archive is asked about a job that has `ended`, or when Postgres no longer holds the next line
 * (it was archived meanwhile).
 */
export async function* readJobLog(sql: Sql, archive: LogArchive, jobId: string, after: number, ended: boolean, limit = Number.POSITIVE_INFINITY): AsyncGenerator<ArchivedLine[]> {
  let next = after + 1;
  let left = limit;
  const take = (first: number, stored: string[]): ArchivedLine[] => {
    const out: ArchivedLine[] = [];
    for (let i = Math.max(0, next - first); i < stored.length && left > 0; i++, left--) {
      out.push({ seq: first + i, ...decodeLine(stored[i]!) });
    }
    if (out.length) next = out.at(-1)!.seq + 1;
    return out;
  };
  const [firstLive] = await sql<{ first_seq: number }[]>`
    SELECT first_seq FROM job_log_chunks WHERE job_id = ${jobId} AND last_seq >= ${next} ORDER BY first_seq LIMIT 1`;
  let fromArchive = ended || (firstLive ? firstLive.first_seq > next : await hasLines(sql, jobId, next));
  // A job's log can move to the archive while it is read: lines the counter has and neither place
  // gave are looked for again, in the archive first.
  for (let round = 0; round < 3 && left > 0; round++, fromArchive = true) {
    if (fromArchive) {
      for await (const { first, lines } of archivedBatches(archive, jobId)) {
        if (left <= 0) return;
        if (first + lines.length <= next) continue;
        const out = take(first, lines);
        if (out.length) yield out;
      }
    }
    for await (const row of liveChunks(sql, jobId, next)) {
      if (left <= 0) return;
      const stored = row.body.split("\n");
      stored.pop();
      const out = take(row.first_seq, stored);
      if (out.length) yield out;
    }
    if (left <= 0 || !(await hasLines(sql, jobId, next))) return;
  }
}

/** Whether the job has numbered lines at `seq` or later (its counter says so). */
async function hasLines(sql: Sql, jobId: string, seq: number): Promise<boolean> {
  const [row] = await sql<{ n: number }[]>`SELECT log_lines AS n FROM jobs WHERE id = ${jobId}`;
  return (row?.n ?? 0) >= seq;
}

/** Every line of the job, as one array (tests and small logs only). */
export async function readWholeJobLog(sql: Sql, archive: LogArchive, jobId: string, after: number, ended: boolean): Promise<ArchivedLine[]> {
  const all: ArchivedLine[] = [];
  for await (const batch of readJobLog(sql, archive, jobId, after, ended)) all.push(...batch);
  return all;
}

/** Moves every stored line of `jobId` into the archive; returns how many lines the archive holds. */
export async function archiveJobLog(sql: Sql, archive: LogArchive, jobId: string): Promise<number> {
  let archived = 0;
  const existing = await archive.open(jobId);
  if (existing) for await (const lines of batchesOfLines(existing)) archived += lines.length;
  const [fresh] = await sql<{ last: number | null }[]>`SELECT max(last_seq) AS last FROM job_log_chunks WHERE job_id = ${jobId}`;
  const last = fresh?.last ?? 0;
  if (last <= archived) {
    if (last > 0) await sql`DELETE FROM job_log_chunks WHERE job_id = ${jobId} AND last_seq <= ${archived}`;
    return archived;
  }
  const merged = async function* (): AsyncGenerator<string> {
    const old = await archive.open(jobId);
    if (old) for await (const lines of batchesOfLines(old)) yield lines.map((l) => l + "\n").join("");
    for await (const row of liveChunks(sql, jobId, archived + 1)) {
      if (row.first_seq > last) break;
      if (row.first_seq > archived) {
        yield row.body;
        continue;
      }
      // A chunk that straddles what the archive has (only after a crash mid-archive): its new part.
      const stored = row.body.split("\n").slice(archived + 1 - row.first_seq, -1);
      if (stored.length) yield stored.map((l) => l + "\n").join("");
    }
  };
  await archive.put(jobId, merged());
  // Only after the archive holds them; a crash in between leaves duplicates in Postgres, never a gap.
  await sql`DELETE FROM job_log_chunks WHERE job_id = ${jobId} AND last_seq <= ${last}`;
  return last;
}
