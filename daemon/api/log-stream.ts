import { isTerminalStatus } from "../../runner/protocol/index.ts";
import type { Db } from "../db/client.ts";
import { getJob } from "../jobs/store.ts";
import type { LogArchive } from "../storage/log-archive.ts";
import { textLine, type LogEndEvent, type LogLineEvent } from "../../runner/protocol/log-line.ts";
import { readJobLog, type ArchivedLine } from "../storage/job-logs.ts";
import type { LogWakeups } from "../storage/log-notify.ts";
import type { Sql } from "postgres";

export interface LogSources {
  db: Db;
  sql: Sql;
  archive: LogArchive;
  wakeups: LogWakeups;
  /** Longest wait for a wake-up before reading anyway. */
  pollMs: number;
  /** Whether the reader may still read; asked every `recheckMs` while the stream is open. */
  stillAllowed?: () => Promise<boolean>;
  recheckMs?: number;
}

/**
 * A job's log as Server-Sent Events: one `line` event per line (id = line number, so a client
 * reconnecting with Last-Event-ID resumes), then an `end` event with the final status once the
 * job has ended and every line is sent. Woken by NOTIFY from whichever replica stored the lines,
 * with a poll as the fallback, and reading Postgres or the archive alike.
 */
const FOLLOW_READ_LINES = 20_000;

/** Waits while the reader has not taken what was sent (a slow client must not make the daemon buffer the whole log). */
async function untilDrained(controller: ReadableStreamDefaultController<Uint8Array>, signal: AbortSignal): Promise<void> {
  while ((controller.desiredSize ?? 1) <= 0 && !signal.aborted) await Bun.sleep(10);
}

export function followLogs(src: LogSources, jobId: string, afterSeq: number, signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  let last = afterSeq;
  let quietSince = Date.now();
  let checkedAt = Date.now();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      try {
        while (!signal.aborted) {
          // A stream can outlive the token or membership that opened it (a job may run for days).
          if (src.stillAllowed && Date.now() - checkedAt >= (src.recheckMs ?? 15_000)) {
            checkedAt = Date.now();
            if (!(await src.stillAllowed())) {
              send(`event: end\ndata: ${JSON.stringify({ status: "forbidden", reason: "the token or the role that opened this stream no longer allows reading the job" } satisfies LogEndEvent)}\n\n`);
              break;
            }
          }
          // Status first: lines written before the job ended are then all in the next read.
          const job = await getJob(src.db, jobId);
          const ended = !job || isTerminalStatus(job.status);
          // A bounded read per turn; a long backlog is sent over several turns, each waiting for the reader.
          let sent = 0;
          for await (const batch of readJobLog(src.sql, src.archive, jobId, last, ended, FOLLOW_READ_LINES)) {
            let text = "";
            for (const l of batch) text += `id: ${l.seq}\nevent: line\ndata: ${JSON.stringify({ seq: l.seq, stream: l.stream, line: l.line } satisfies LogLineEvent)}\n\n`;
            await untilDrained(controller, signal);
            send(text);
            last = batch.at(-1)!.seq;
            sent += batch.length;
          }
          if (sent === FOLLOW_READ_LINES) continue;
          if (ended) {
            send(`event: end\ndata: ${JSON.stringify({ status: job?.status ?? "deleted", exit_code: job?.exitCode ?? null } satisfies LogEndEvent)}\n\n`);
            break;
          }
          if (sent > 0) {
            quietSince = Date.now();
            continue;
          }
          // A comment now and then keeps proxies from closing a quiet stream.
          if (Date.now() - quietSince > 15_000) {
            send(": keep-alive\n\n");
            quietSince = Date.now();
          }
          await src.wakeups.wait(jobId, src.pollMs, signal);
        }
      } catch (error) {
        if (!signal.aborted) controller.error(error);
        return;
      }
      controller.close();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
  });
}

/**
 * The plain-text log, streamed: a batch of lines is read only when the reader has taken the last
 * one, so memory stays flat however long the log (textLine marks the system's own lines).
 */
export function textLogResponse(batches: AsyncGenerator<ArchivedLine[]>, signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal.aborted) {
        await batches.return(undefined);
        return controller.close();
      }
      const { value, done } = await batches.next();
      if (done) return controller.close();
      let text = "";
      for (const l of value) text += textLine(l.stream, l.line) + "\n";
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
}
