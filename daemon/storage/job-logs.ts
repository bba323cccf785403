/**
 * A job's log over its life: lines in Postgres (job_logs) while it runs, then the whole log in the
 * archive, with the rows deleted. Readers call `readJobLog` and never need to know which it is.
 * Archiving merges with what the archive already holds, so late lines (a worker's last words
 * after a cancel) are moved too, and running it twice changes nothing.
 */
import type { Sql } from "postgres";
import type { LogArchive } from "./log-archive.ts";

export interface ArchivedLine {
  seq: number;
  stream: string;
  line: string;
}

function parseArchive(text: string | null): ArchivedLine[] {
  if (!text) return [];
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ArchivedLine);
}

const formatArchive = (lines: ArchivedLine[]) => lines.map((l) => JSON.stringify({ seq: l.seq, stream: l.stream, line: l.line })).join("\n") + (lines.length ? "\n" : "");

async function liveLines(sql: Sql, jobId: string, afterSeq: number): Promise<ArchivedLine[]> {
  return sql<ArchivedLine[]>`SELECT seq, stream, line FROM job_logs WHERE job_id = ${jobId} AND seq > ${afterSeq} ORDER BY seq`;
}

/** Moves every stored line of `jobId` into the archive; returns how many lines the archive holds. */
export async function archiveJobLog(sql: Sql, archive: LogArchive, jobId: string): Promise<number> {
  const archived = parseArchive(await archive.get(jobId));
  const last = archived.at(-1)?.seq ?? 0;
  const fresh = await liveLines(sql, jobId, last);
  if (fresh.length === 0 && archived.length > 0) return archived.length;
  const all = [...archived, ...fresh];
  await archive.put(jobId, formatArchive(all));
  // Only after the archive holds them; a crash in between leaves duplicates in Postgres, never a gap.
  await sql`DELETE FROM job_logs WHERE job_id = ${jobId} AND seq <= ${all.at(-1)?.seq ?? 0}`;
  return all.length;
}

/**
 * Lines after `afterSeq`, from the archive and Postgres together (whichever holds them). The
 * archive is only asked about jobs that have `ended` (a running job's log is all in Postgres).
 */
export async function readJobLog(sql: Sql, archive: LogArchive, jobId: string, afterSeq: number, ended: boolean): Promise<ArchivedLine[]> {
  const live = await liveLines(sql, jobId, afterSeq);
  if (!ended || (live.length > 0 && live[0]!.seq === afterSeq + 1)) return live;
  const archived = parseArchive(await archive.get(jobId)).filter((l) => l.seq > afterSeq);
  const lastArchived = archived.at(-1)?.seq ?? afterSeq;
  return [...archived, ...live.filter((l) => l.seq > lastArchived)];
}
