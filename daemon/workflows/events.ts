/**
 * Durable "workflow run changed" events, for commit statuses (VCS), notifications and the
 * dashboard. The engine writes an event row in the same transaction as the change it describes
 * (a run created, a node queued/ended/skipped, the run ended), so a crash cannot separate the two.
 *
 * How to use it:
 *   const stop = deps.workflows.events.subscribe("commit-statuses", async (event) => {
 *     // event.kind: "created" | "changed" | "ended"; event.status: the run's status then.
 *     // Read the run (getWorkflowRun / workflowRunView) for its nodes. Throw to have it again.
 *   });
 * Each named subscriber has a cursor row: events are handed over in order, at least once (a
 * handler that throws, or a daemon killed mid-handler, gets the same event again), and a
 * subscriber that is new starts at the newest event, not at the beginning of history. One
 * subscriber name is served by one process at a time (its cursor row is locked while it works).
 */
import { asc, eq, gt, sql } from "drizzle-orm";
import { workflowEventCursors, workflowRunEvents } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";

/** Advisory lock key serialising event writers (arbitrary, fixed: "rcwfevt"). */
const WORKFLOW_EVENTS_LOCK = 0x7263776665767;

export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type WorkflowRunEventKind = "created" | "changed" | "ended";
export type WorkflowRunEvent = typeof workflowRunEvents.$inferSelect;
export type WorkflowEventHandler = (event: WorkflowRunEvent) => Promise<void>;

export class WorkflowEvents {
  private readonly pumps = new Map<string, { wake: () => void; stop: () => void }>();

  constructor(
    private readonly db: Db,
    private readonly pollMs = 1000,
  ) {}

  /** Events recorded inside transactions opened by `transaction()`, written at their end. */
  private readonly pending = new WeakMap<Tx, { runId: string; kind: WorkflowRunEventKind; status: string }[]>();

  /**
   * Inside the transaction that makes the change. Subscribers read by id past a cursor, so ids
   * must become visible in id order: a bigserial taken by a transaction that commits after a
   * later id's would be skipped for good. Event writers therefore take a transaction-scoped lock
   * before their ids and hold it to their commit. In a transaction opened by `transaction()` the
   * rows (and the lock) wait for the end of the work, so the lock is the last one taken: a
   * transaction holding it never waits for a row another writer locked, and no deadlock can
   * form around it. Elsewhere the row is written, and the lock taken, at once.
   */
  async record(tx: Tx, runId: string, kind: WorkflowRunEventKind, status: string): Promise<void> {
    const later = this.pending.get(tx);
    if (later) later.push({ runId, kind, status });
    else await this.write(tx, [{ runId, kind, status }]);
  }

  /** `db.transaction(work)`, with the events `work` records written (under the lock) after it. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      this.pending.set(tx, []);
      const result = await work(tx);
      const events = this.pending.get(tx)!;
      this.pending.delete(tx);
      await this.write(tx, events);
      return result;
    });
  }

  private async write(tx: Tx, events: { runId: string; kind: WorkflowRunEventKind; status: string }[]): Promise<void> {
    if (events.length === 0) return;
    await tx.execute(sql`select pg_advisory_xact_lock(${WORKFLOW_EVENTS_LOCK})`);
    await tx.insert(workflowRunEvents).values(events);
  }

  /** After a commit: subscribers look now instead of at their next poll. */
  wake(): void {
    for (const pump of this.pumps.values()) pump.wake();
  }

  subscribe(name: string, handler: WorkflowEventHandler): () => void {
    if (this.pumps.has(name)) throw new Error(`workflow events: a subscriber named ${name} already exists`);
    let stopped = false;
    let wakeUp = () => {};
    let again = false;
    const loop = async () => {
      const [newest] = await this.db.select({ id: sql<number>`coalesce(max(${workflowRunEvents.id}), 0)::bigint` }).from(workflowRunEvents);
      await this.db.insert(workflowEventCursors).values({ subscriber: name, lastEventId: Number(newest?.id ?? 0) }).onConflictDoNothing();
      while (!stopped) {
        again = false;
        let handled = 0;
        try {
          handled = await this.deliver(name, handler);
        } catch (error) {
          console.error(`workflow events: subscriber ${name}: ${error instanceof Error ? error.message : error}`);
        }
        if (handled > 0 || again) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    };
    this.pumps.set(name, {
      wake: () => {
        again = true;
        wakeUp();
      },
      stop: () => {
        stopped = true;
        wakeUp();
      },
    });
    void loop();
    return () => {
      this.pumps.get(name)?.stop();
      this.pumps.delete(name);
    };
  }

  /** One batch under the cursor's row lock; the cursor moves past each event its handler took. */
  private deliver(name: string, handler: WorkflowEventHandler): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [cursor] = await tx.select().from(workflowEventCursors).where(eq(workflowEventCursors.subscriber, name)).for("update", { skipLocked: true });
      if (!cursor) return 0;
      const events = await tx.select().from(workflowRunEvents).where(gt(workflowRunEvents.id, cursor.lastEventId)).orderBy(asc(workflowRunEvents.id)).limit(100);
      let last = cursor.lastEventId;
      let failed: unknown;
      for (const event of events) {
        try {
          await handler(event);
        } catch (error) {
          failed = error;
          break;
        }
        last = event.id;
      }
      if (last !== cursor.lastEventId) {
        await tx.update(workflowEventCursors).set({ lastEventId: last, updatedAt: new Date() }).where(eq(workflowEventCursors.subscriber, name));
      }
      // The event that failed comes again at the next poll, after the ones handled are committed.
      if (failed !== undefined) {
        console.error(`workflow events: subscriber ${name}: event ${last + 1}…: ${failed instanceof Error ? failed.message : failed}`);
        return 0;
      }
      return events.length;
    });
  }

  close(): void {
    for (const name of [...this.pumps.keys()]) {
      this.pumps.get(name)?.stop();
      this.pumps.delete(name);
    }
  }
}
