import { TERMINAL_STATUSES } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import { getJob, readLogs } from "../jobs/store.ts";

/**
 * A job's log as Server-Sent Events: one `line` event per line (id = line number, so a client
 * reconnecting with Last-Event-ID resumes), then an `end` event with the final status once the
 * job has ended and every line is sent. Polls the database, so any coordinator can serve it.
 */
export function followLogs(db: Db, jobId: string, afterSeq: number, pollMs: number, signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  let last = afterSeq;
  let quietSince = Date.now();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      try {
        while (!signal.aborted) {
          // Status first: lines written before the job ended are then all in the next read.
          const job = await getJob(db, jobId);
          const lines = await readLogs(db, jobId, last);
          for (const l of lines) {
            send(`id: ${l.seq}\nevent: line\ndata: ${JSON.stringify({ seq: l.seq, stream: l.stream, line: l.line })}\n\n`);
            last = l.seq;
          }
          if (!job || (TERMINAL_STATUSES.includes(job.status) && lines.length < 10_000)) {
            send(`event: end\ndata: ${JSON.stringify({ status: job?.status ?? "deleted", exit_code: job?.exitCode ?? null })}\n\n`);
            break;
          }
          if (lines.length > 0) {
            quietSince = Date.now();
            continue;
          }
          // A comment now and then keeps proxies from closing a quiet stream.
          if (Date.now() - quietSince > 15_000) {
            send(": keep-alive\n\n");
            quietSince = Date.now();
          }
          await Bun.sleep(pollMs);
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
