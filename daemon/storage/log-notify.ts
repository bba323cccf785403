/**
 * "Job X has new log lines" across every coordinator replica on one Postgres: the replica that
 * stores lines NOTIFYs, every replica LISTENs once and wakes its followers of that job, so a live
 * log is pushed instead of polled. A missed notification only delays a follower until its next
 * fallback poll, so correctness never depends on delivery.
 */
import type { Sql } from "postgres";

export const LOG_CHANNEL = "reactorcide_job_log";

/** Tells every replica that `jobId` has new lines (or ended). */
export async function notifyLog(sql: Sql, jobId: string): Promise<void> {
  await sql`SELECT pg_notify(${LOG_CHANNEL}, ${jobId})`;
}

export class LogWakeups {
  private readonly waiters = new Map<string, Set<() => void>>();
  private listening: Promise<unknown> | undefined;

  constructor(private readonly sql: Sql) {}

  private ensureListening(): void {
    this.listening ??= this.sql
      .listen(LOG_CHANNEL, (jobId) => {
        const set = this.waiters.get(jobId);
        if (!set) return;
        this.waiters.delete(jobId);
        for (const wake of set) wake();
      })
      .catch(() => {
        // LISTEN unavailable: followers fall back to their poll interval.
        this.listening = undefined;
      });
  }

  /** Resolves on the next notification for `jobId`, after `maxMs`, or when `signal` aborts. */
  wait(jobId: string, maxMs: number, signal?: AbortSignal): Promise<void> {
    this.ensureListening();
    return new Promise((resolve) => {
      let set = this.waiters.get(jobId);
      if (!set) this.waiters.set(jobId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters.get(jobId)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }
}
