/**
 * Where one job's time goes on the worker: named phases, each ending at a mark, measured from the
 * claim. Off unless switched on (REACTORCIDE_WORKER_SPANS=1 prints one JSON line per job on
 * stderr; benchmarks set a sink), so a job pays nothing for it normally.
 */

/** Phase name → milliseconds it took, in the order the phases ended. */
export type JobSpanTimes = Record<string, number>;
export type SpanSink = (jobId: string, spans: JobSpanTimes) => void;

let sink: SpanSink | null = process.env.REACTORCIDE_WORKER_SPANS === "1" ? (jobId, spans) => process.stderr.write(`${JSON.stringify({ spans: jobId, ...spans })}\n`) : null;

/** Receives every job's spans from now on (null: off again). */
export function setSpanSink(next: SpanSink | null): void {
  sink = next;
}

export class JobSpans {
  private last = performance.now();
  private readonly times: JobSpanTimes | null = sink ? {} : null;

  /** The phase `name` ended now (it began at the previous mark); the same name again adds up. */
  mark(name: string): void {
    if (!this.times) return;
    const now = performance.now();
    this.times[name] = (this.times[name] ?? 0) + (now - this.last);
    this.last = now;
  }

  /** Hands the phases to the sink; call once, when the job is done with. */
  report(jobId: string): void {
    if (this.times && sink) sink(jobId, this.times);
  }
}
