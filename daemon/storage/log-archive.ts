import { encodeLines, type LogStreamName } from "../../runner/protocol/log-line.ts";

/**
 * Where a finished job's whole log lives once it leaves Postgres: a directory by default, an
 * S3-compatible bucket when configured. Keys are derived from job ids, which are checked so a
 * hostile id can never name a path outside the archive. Logs are read as streams, so serving a
 * large one costs constant memory.
 */
export interface LogArchive {
  /** Human-readable place, for start-up messages. */
  readonly location: string;
  /** Stores the log, replacing any before it; readers see the old or the new log whole, never half. */
  put(jobId: string, parts: AsyncIterable<string> | string): Promise<void>;
  /** The archived log as a byte stream, or null when this job has none. */
  open(jobId: string): Promise<ReadableStream<Uint8Array> | null>;
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** `logs/<jobId>.log` (runner/protocol/log-line.ts's stored form), or an error naming the bad id. */
export function logKey(jobId: string): string {
  if (!JOB_ID.test(jobId)) throw new Error(`job id ${JSON.stringify(jobId)} is not valid for the log archive (letters, digits, - and _ only)`);
  return `logs/${jobId}.log`;
}

/** The whole archived log as text (tests and small tools; servers stream `open`). */
export async function archivedText(archive: LogArchive, jobId: string): Promise<string | null> {
  const stream = await archive.open(jobId);
  return stream ? new Response(stream).text() : null;
}

/** Where archives written before the stored form of log-line.ts kept a log (one JSON object a line). */
export const legacyLogKey = (jobId: string) => logKey(jobId).replace(/\.log$/, ".jsonl");

/** A legacy JSONL archive read as the stored form, so logs archived before it stay readable. */
export function fromLegacyJsonl(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const lines = batchesOfLines(stream);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await lines.next();
      if (done) return controller.close();
      const parsed = value.filter(Boolean).map((l) => JSON.parse(l) as { stream?: LogStreamName; line: string });
      controller.enqueue(encoder.encode(encodeLines(parsed)));
    },
    cancel: () => void lines.return(undefined),
  });
}

/** A byte stream as batches of its lines (without "\n"), decoded as UTF-8 across chunk boundaries. */
export async function* batchesOfLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = parts.pop()!;
    if (parts.length) yield parts;
  }
  rest += decoder.decode();
  if (rest) yield [rest];
}
