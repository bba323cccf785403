/**
 * How a running job's log chunk is kept in Postgres (job_log_chunks.packed): its stored-form text
 * (runner/protocol/log-line.ts) compressed with zstd at its fastest level, a tenth of the bytes for
 * Postgres to write, log to WAL and send back, for a few ms of CPU per MB. A worker's chunk comes
 * packed this way already (runner/protocol/log-chunk.ts) and is stored as it came. Rows from before
 * it hold the text itself in `body`.
 */
import { promisify } from "node:util";
import { zstdDecompress } from "node:zlib";
import { LOG_CHUNK_MAX_BYTES } from "../../runner/protocol/log-chunk.ts";

/** zstd's fastest level: build logs still shrink five- to twenty-fold. */
export const PACK_LEVEL = 1;

export function packChunk(text: string | Uint8Array): Buffer {
  return Bun.zstdCompressSync(typeof text === "string" ? Buffer.from(text, "utf8") : text, { level: PACK_LEVEL });
}

const unzstd = promisify(zstdDecompress) as (data: Uint8Array, options: { maxOutputLength: number }) => Promise<Buffer>;

/** A chunk that does not unpack: not zstd, or more than LOG_CHUNK_MAX_BYTES (a small body can unpack to gigabytes). */
export class UnpackError extends Error {}

/** A shipped chunk's stored-form bytes, off the event loop's thread, refused past LOG_CHUNK_MAX_BYTES. */
export async function unpackChunk(packed: Uint8Array): Promise<Buffer> {
  try {
    return await unzstd(packed, { maxOutputLength: LOG_CHUNK_MAX_BYTES });
  } catch (error) {
    const why = error instanceof RangeError || /larger than|maxOutputLength|too large/i.test(String(error)) ? `unpacks to more than ${LOG_CHUNK_MAX_BYTES} bytes` : "is not a zstd frame";
    throw new UnpackError(`the chunk ${why}`);
  }
}

/** The packed chunk without its first `skip` lines (a sender that cut its chunks differently the second time). */
export function dropLines(packed: Uint8Array, skip: number): Buffer {
  const text = Buffer.from(Bun.zstdDecompressSync(packed));
  let start = 0;
  for (let i = 0; i < skip; i++) start = text.indexOf(0x0a, start) + 1;
  return packChunk(text.subarray(start));
}

/** The chunk's text, from whichever column holds it. */
export function chunkText(row: { body: string | null; packed: Uint8Array | null }): string {
  if (row.packed) return Buffer.from(Bun.zstdDecompressSync(row.packed)).toString("utf8");
  return row.body ?? "";
}
