/**
 * How a running job's log chunk is kept in Postgres (job_log_chunks.packed): its stored-form text
 * (runner/protocol/log-line.ts) compressed with zstd at its fastest level, a tenth of the bytes for
 * Postgres to write, log to WAL and send back, for a few ms of CPU per MB. Rows from before it hold
 * the text itself in `body`.
 */

/** zstd's fastest level: build logs still shrink five- to twenty-fold. */
const LEVEL = 1;

export function packChunk(text: string): Buffer {
  return Bun.zstdCompressSync(Buffer.from(text, "utf8"), { level: LEVEL });
}

/** The chunk's text, from whichever column holds it. */
export function chunkText(row: { body: string | null; packed: Uint8Array | null }): string {
  if (row.packed) return Buffer.from(Bun.zstdDecompressSync(row.packed)).toString("utf8");
  return row.body ?? "";
}
