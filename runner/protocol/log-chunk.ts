/**
 * A log chunk as the worker ships it and the coordinator keeps it: the stored form of a run of
 * lines (log-line.ts: per line its stream character, its text, "\n") packed as zstd, one frame.
 * The worker frames and packs what the job printed; the coordinator unpacks it only to check it
 * (size, line count, stream characters, UTF-8, no NUL, line length) and stores the packed bytes
 * as they came: no JSON per line on either side, a tenth of the bytes on the wire.
 *
 * POST /api/v1/internal/jobs/{id}/log-chunks?offset=N&lines=M with LOG_CHUNK_CONTENT_TYPE: `offset`
 * is how many lines the worker shipped for the job before this chunk (a chunk sent again is stored
 * once, one that would leave a gap is 409), `lines` how many the chunk holds. The answer is
 * LogsAppendedSchema (worker-api.ts).
 */
import { Type, type Static } from "@sinclair/typebox";
import { isUtf8 } from "node:buffer";
import { LOG_BATCH_MAX_LINES } from "./worker-api.ts";

export const LOG_CHUNK_CONTENT_TYPE = "application/vnd.reactorcide.log-chunk+zstd";
/** What a chunk may unpack to (the worker ships about 2 MiB at a time). */
export const LOG_CHUNK_MAX_BYTES = 8 * 2 ** 20;
/** Lines one chunk may hold: as many as a JSON batch. */
export const LOG_CHUNK_MAX_LINES = LOG_BATCH_MAX_LINES;
/** Longest stored line, in bytes of UTF-8; the worker cuts longer output into lines of this size. */
export const LOG_LINE_MAX_BYTES = 64 * 1024;

// Both are required; the route says so by name (a schema-level "required" would be answered
// before the caller's token is checked for its role).
const Count = (description: string) => Type.Optional(Type.String({ pattern: "^[0-9]{1,10}$", description: `${description} (required)` }));
export const LogChunkQuerySchema = Type.Object(
  {
    offset: Count("lines this job's worker shipped before this chunk"),
    lines: Count(`lines the chunk holds, 1 to ${LOG_CHUNK_MAX_LINES}`),
  },
  { additionalProperties: false },
);
export type LogChunkQuery = Static<typeof LogChunkQuerySchema>;

/** The stream characters of the stored form as bytes: o(stdout), e(stderr), s(system). */
export const STREAM_BYTE = { stdout: 0x6f, stderr: 0x65, system: 0x73 } as const;

/**
 * Why `text` is not `lines` stored-form lines, or undefined when it is: every line starts with a
 * stream character and ends with "\n", holds no NUL, is at most LOG_LINE_MAX_BYTES, and the
 * whole is UTF-8. One indexOf per line; the rest are whole-buffer scans.
 */
export function storedLinesProblem(text: Uint8Array, lines: number): string | undefined {
  if (text.length === 0) return "the chunk is empty";
  if (text[text.length - 1] !== 0x0a) return "the chunk's last line does not end with a newline";
  if (text.indexOf(0) >= 0) return "the chunk holds a NUL byte (the worker shows it as U+FFFD)";
  if (!isUtf8(text)) return "the chunk is not UTF-8";
  let count = 0;
  for (let start = 0; start < text.length; count++) {
    const code = text[start];
    if (code !== STREAM_BYTE.stdout && code !== STREAM_BYTE.stderr && code !== STREAM_BYTE.system) return `line ${count + 1} of the chunk does not start with a stream character (o, e or s)`;
    const end = text.indexOf(0x0a, start);
    if (end - start - 1 > LOG_LINE_MAX_BYTES) return `line ${count + 1} of the chunk is longer than ${LOG_LINE_MAX_BYTES} bytes`;
    start = end + 1;
  }
  if (count !== lines) return `the chunk holds ${count} lines, not ${lines}`;
  return undefined;
}
