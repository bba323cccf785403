import { consola } from "consola";
import type { Sql } from "postgres";

/** Channel of the NOTIFY sent when a task may have become claimable; payload `<server id> <queue>`. */
export const TASK_CHANNEL = "corndogs_task";

/**
 * Tells consumers that a task may have become claimable. Listeners in this process hear it at
 * once; other servers on the same database hear it through a NOTIFY. The NOTIFY is sent after
 * the task's own commit, coalesced per queue: inside the task's transaction it would hold
 * Postgres's global notify lock across the commit's fsync and serialise every submit.
 */
export class TaskNotifier {
  private readonly id = crypto.randomUUID();
  private readonly listeners = new Set<(queue: string) => void>();
  private readonly pending = new Set<string>();
  private flushing: Promise<void> | undefined;
  private closed = false;
  private unlisten: Promise<{ unlisten(): Promise<void> }> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly crossProcess: boolean,
  ) {}

  taskReady(queue: string): void {
    this.deliver(queue);
    if (!this.crossProcess || this.closed) return;
    this.pending.add(queue);
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    // Let the submits of this tick join one NOTIFY statement.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.size > 0 && !this.closed) {
      const payloads = [...this.pending].map((q) => `${this.id} ${q}`);
      this.pending.clear();
      try {
        await this.sql`SELECT pg_notify(${TASK_CHANNEL}, p) FROM unnest(${payloads}::text[]) AS p`;
      } catch (error) {
        consola.warn("corndogs: NOTIFY failed; other servers' consumers fall back to polling", error);
      }
    }
    this.flushing = undefined;
  }

  /** A listener that throws (say a stream gone mid-write) must not fail the submit or the other listeners. */
  private deliver(queue: string): void {
    for (const listener of this.listeners) {
      try {
        listener(queue);
      } catch (error) {
        consola.warn("corndogs: a task listener failed", error);
      }
    }
  }

  subscribe(listener: (queue: string) => void): () => void {
    this.listeners.add(listener);
    if (this.crossProcess && !this.unlisten) {
      this.unlisten = this.sql.listen(TASK_CHANNEL, (payload) => {
        const space = payload.indexOf(" ");
        if (payload.slice(0, space) === this.id) return; // our own, already delivered
        this.deliver(payload.slice(space + 1));
      });
      this.unlisten.catch((error: unknown) => consola.warn("corndogs: LISTEN failed; consumers fall back to polling", error));
    }
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.flushing;
    await this.unlisten?.then((l) => l.unlisten()).catch(() => {});
  }
}
