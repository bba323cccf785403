/**
 * Durable "job submitted" and "job ended" events: an outbox in Postgres. daemon/jobs/store.ts
 * writes an event row in the same transaction as the change (insertJob → submitted, transitionJob
 * to an end status → ended), so an event exists exactly when its change committed. Subscribers
 * are served from the table, so a daemon killed between a job's end and a subscriber's work loses
 * nothing: the next start hands the event over again.
 *
 * Subscribe (once per process, before `start()`; the coordinator starts the bus):
 *
 *   const stop = jobService.events.subscribe("commit-statuses", async (event, tx) => {
 *     // event.kind: "submitted" | "ended"; event.job: the job as the API showed it then
 *     // (runner/protocol JobSchema: status, exit_code, reason, project_id, workflow_run_id, ...).
 *     if (event.kind !== "ended") return;
 *     await tx.insert(myOutbox).values({ jobId: event.job.id, state: event.job.status });
 *   });
 *
 * Guarantees, per subscriber name:
 * - Every event committed after the subscriber first existed is handed over; earlier history is
 *   not (a new subscriber does not replay old jobs).
 * - The handler runs inside the transaction that records its delivery: writes through `tx`
 *   commit together with "delivered", exactly once. Work done elsewhere (HTTP, another
 *   transaction) is at least once: make it idempotent.
 * - A handler that throws is rolled back and tried again later (backoff from 1 s to 60 s); other
 *   events go on meanwhile. Order is by event id (a job's submitted comes before its ended), not
 *   strict across jobs.
 * - Several coordinator replicas may subscribe the same name: each event is handled by one.
 *
 * `watch(listener)` is the in-process, not durable kind: every replica's listeners hear every
 * event (LISTEN/NOTIFY) shortly after its commit, for live views such as the dashboard. A missed
 * one is not replayed.
 */
import { and, gt, inArray, lt, sql } from "drizzle-orm";
import { consola } from "consola";
import type { Sql } from "postgres";
import type { Job } from "../../runner/protocol/index.ts";
import { jobEventDeliveries, jobEvents, jobEventSubscribers, type JobEventKind } from "../../schema/app/index.ts";
import type { Db, Tx } from "../db/client.ts";
import { failpoint } from "../failpoints.ts";

export type { JobEventKind };
export interface JobEvent {
  /** Increasing; the outbox row's id. */
  id: number;
  kind: JobEventKind;
  /** The job as the API showed it when the event was recorded. */
  job: Job;
  at: Date;
}
export type JobEventHandler = (event: JobEvent, tx: Tx) => Promise<void>;
/** What `watch` listeners hear: small enough for a NOTIFY payload; read the job for the rest. */
export interface JobEventNotice {
  id: number;
  kind: JobEventKind;
  job_id: string;
  project_id: string;
  status: Job["status"];
}
export type JobEventListener = (notice: JobEventNotice) => void;

export const JOB_EVENTS_CHANNEL = "reactorcide_job_events";
const BATCH = 100;
const KEEP_DAYS = 7;
/**
 * A subscriber's in-memory floor (see Subscription.floor) trails the newest event by this long:
 * an event id taken that long ago and still not committed is rare (a long transaction), and is
 * found by the look from the start every FULL_SCAN_MS instead of by the next look.
 */
const FLOOR_LAG_MS = 2_000;
const FULL_SCAN_MS = 30_000;
/** How often the newest event id is noted as a future floor. */
const MARK_EVERY_MS = 500;

/**
 * Inside the transaction that makes the change: one event row per job, and a NOTIFY sent at
 * commit, in one statement (one round trip whatever the number of jobs).
 */
export async function recordJobEvents(tx: Tx, kind: JobEventKind, views: readonly Job[]): Promise<void> {
  if (views.length === 0) return;
  await tx.execute(sql`
    WITH recorded AS (
      INSERT INTO ${jobEvents} (kind, job_id, job)
      SELECT ${kind}, (j->>'id')::uuid, j FROM jsonb_array_elements(${JSON.stringify(views)}::jsonb) WITH ORDINALITY AS v(j, n)
      ORDER BY n
      RETURNING id, job_id, job
    )
    SELECT pg_notify(${JOB_EVENTS_CHANNEL}, json_build_object('id', id, 'kind', ${kind}::text, 'job_id', job_id, 'project_id', job->>'project_id', 'status', job->>'status')::text)
    FROM recorded ORDER BY id`);
}

export interface SubscribeOptions {
  /**
   * The kinds of event this subscriber is handed (default: every kind). Events of other kinds are
   * not read for it and leave no delivery row (prune knows from job_event_subscribers.kinds): a
   * submit costs no work for a subscriber of ends.
   */
  kinds?: readonly JobEventKind[];
  /**
   * The events this subscriber acts on (default: all). The others are marked delivered in bulk,
   * one statement per batch, instead of a transaction each: most subscribers care about few events.
   */
  wants?: (event: JobEvent) => boolean;
}

interface Subscription {
  name: string;
  handler: JobEventHandler;
  /** undefined: every kind. */
  kinds: readonly JobEventKind[] | undefined;
  wants: (event: JobEvent) => boolean;
  since: number;
  /**
   * Looks start above this id, so their cost follows the events of the last seconds rather than
   * all since the subscriber first existed (a look over 20,000 events took 3-5 ms at 800
   * submits/s). Every visible event at or under it was handed over: it is raised to the newest
   * id seen FLOOR_LAG_MS before a look began (ids are taken in order, so anything under it was
   * taken before then; committed since, it was in that look), and stays under any event the
   * look left undelivered. Not durable: a start looks from `since`.
   */
  floor: number;
  /** Newest event ids noted, and when (after they were read). */
  marks: { at: number; id: number }[];
  fullScanAt: number;
  /** Event id → when it may be tried again, after a handler threw. */
  retryAt: Map<number, { at: number; delay: number }>;
}

export class JobEventBus {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly listeners = new Set<JobEventListener>();
  private running = false;
  private wakeUp: (() => void) | undefined;
  private pending = false;
  private loop: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly log = consola.withTag("job-events");

  constructor(
    private readonly db: Db,
    private readonly sql: Sql,
    private readonly options: { pollMs?: number; floorLagMs?: number; fullScanMs?: number } = {},
  ) {}

  /** A durable subscriber (see the header). Returns a function that unsubscribes it. */
  subscribe(name: string, handler: JobEventHandler, options: SubscribeOptions = {}): () => void {
    if (!/^[a-z0-9][a-z0-9._-]{0,99}$/.test(name)) throw new Error(`job events: subscriber name ${JSON.stringify(name)} must be lower-case letters, digits, . _ -`);
    if (this.subscriptions.has(name)) throw new Error(`job events: a subscriber named ${name} already exists`);
    const kinds = options.kinds ? [...new Set(options.kinds)].sort() : undefined;
    this.subscriptions.set(name, { name, handler, kinds, wants: options.wants ?? (() => true), since: Number.MAX_SAFE_INTEGER, floor: 0, marks: [], fullScanAt: 0, retryAt: new Map() });
    if (this.running) void this.register(this.subscriptions.get(name)!).then(() => this.wake());
    return () => this.subscriptions.delete(name);
  }

  /** An in-process listener for every replica's events (not durable). Returns a function that removes it. */
  watch(listener: JobEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Subscribers look now (after a commit in this process) instead of at their next poll; with
   * `kind`, only when one of them is handed events of that kind.
   */
  wake(kind?: JobEventKind): void {
    if (kind !== undefined && !this.anyWants(kind)) return;
    this.pending = true;
    this.wakeUp?.();
  }

  private anyWants(kind: JobEventKind): boolean {
    for (const sub of this.subscriptions.values()) if (!sub.kinds || sub.kinds.includes(kind)) return true;
    return false;
  }

  /** Registers the subscribers, listens for other replicas' events and starts handing events over. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const sub of this.subscriptions.values()) await this.register(sub);
    try {
      const listening = await this.sql.listen(JOB_EVENTS_CHANNEL, (payload) => {
        let notice: JobEventNotice;
        try {
          notice = JSON.parse(payload) as JobEventNotice;
        } catch {
          this.wake();
          return;
        }
        this.wake(notice.kind);
        for (const listener of this.listeners) {
          try {
            listener(notice);
          } catch (error) {
            this.log.error(`a job event listener failed: ${error instanceof Error ? error.message : error}`);
          }
        }
      });
      this.unlisten = () => listening.unlisten();
    } catch (error) {
      // Without LISTEN, subscribers still poll; watchers hear nothing.
      this.log.warn(`LISTEN ${JOB_EVENTS_CHANNEL} failed: ${error instanceof Error ? error.message : error}`);
    }
    this.loop = this.run();
  }

  /** Stops after the event being handled; what is left is handed over at the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await this.unlisten?.().catch(() => {});
  }

  /** Hands over every event that is due now; resolves with how many were handled. For tests and the loop. */
  async drain(): Promise<number> {
    let handled = 0;
    for (const sub of [...this.subscriptions.values()]) {
      if (sub.since === Number.MAX_SAFE_INTEGER) await this.register(sub);
      handled += await this.deliver(sub);
    }
    return handled;
  }

  private async register(sub: Subscription): Promise<void> {
    // A new subscriber starts after the newest event; a known one keeps where it started.
    const [row] = await this.db
      .insert(jobEventSubscribers)
      .values({ name: sub.name, kinds: sub.kinds ? [...sub.kinds] : null, sinceId: sql`(SELECT coalesce(max(${jobEvents.id}), 0) FROM ${jobEvents})` as unknown as number })
      .onConflictDoUpdate({ target: jobEventSubscribers.name, set: { lastSeenAt: sql`now()`, kinds: sub.kinds ? [...sub.kinds] : null } })
      .returning({ since: jobEventSubscribers.sinceId });
    sub.since = sub.floor = Number(row!.since);
    sub.fullScanAt = Date.now();
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 1000;
    let lastPrune = 0;
    while (this.running) {
      this.pending = false;
      let handled = 0;
      try {
        handled = await this.drain();
        if (Date.now() - lastPrune > 3_600_000) {
          lastPrune = Date.now();
          await this.prune();
        }
      } catch (error) {
        this.log.error(`handing over job events: ${error instanceof Error ? error.message : error}`);
      }
      if (!this.running) break;
      if (handled > 0 || this.pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async deliver(sub: Subscription): Promise<number> {
    // Now and then from the start, for an event that became visible after the floor passed it.
    const startedAt = Date.now();
    const full = startedAt - sub.fullScanAt >= (this.options.fullScanMs ?? FULL_SCAN_MS);
    const from = full ? sub.since : sub.floor;
    if (full) sub.fullScanAt = startedAt;
    const rows = await this.db
      .select()
      .from(jobEvents)
      .where(
        and(
          gt(jobEvents.id, from),
          sub.kinds ? inArray(jobEvents.kind, [...sub.kinds]) : undefined,
          sql`NOT EXISTS (SELECT 1 FROM ${jobEventDeliveries} d WHERE d.subscriber = ${sub.name} AND d.event_id = ${jobEvents.id})`,
        ),
      )
      .orderBy(jobEvents.id)
      .limit(BATCH);
    let handled = 0;
    const now = Date.now();
    const events = rows.map((row): JobEvent => ({ id: row.id, kind: row.kind, job: row.job, at: row.createdAt }));
    /** Lowest id of this look left undelivered (a handler threw, waits for its retry, or the loop stopped). */
    let undelivered = Number.POSITIVE_INFINITY;
    const unwanted = events.filter((event) => !sub.wants(event)).map((event) => event.id);
    if (unwanted.length > 0) {
      // Nothing to do for these but remember they are done (one statement; prune needs the rows).
      await this.db
        .insert(jobEventDeliveries)
        .values(unwanted.map((eventId) => ({ subscriber: sub.name, eventId })))
        .onConflictDoNothing();
      handled += unwanted.length;
    }
    for (const event of events) {
      if (!this.running && this.loop) {
        undelivered = Math.min(undelivered, event.id);
        break;
      }
      if (!sub.wants(event)) continue;
      const retry = sub.retryAt.get(event.id);
      if (retry && retry.at > now) {
        undelivered = Math.min(undelivered, event.id);
        continue;
      }
      try {
        await this.db.transaction(async (tx) => {
          // Waits for another replica holding the same delivery, then finds it done.
          const claimed = await tx.insert(jobEventDeliveries).values({ subscriber: sub.name, eventId: event.id }).onConflictDoNothing().returning();
          if (claimed.length === 0) return;
          await sub.handler(event, tx);
          // The subscriber's work is done but not committed: a crash here must undo it with the claim.
          failpoint("jobs.event-handled", sub.name);
        });
        sub.retryAt.delete(event.id);
        handled++;
      } catch (error) {
        const delay = Math.min((retry?.delay ?? 500) * 2, 60_000);
        sub.retryAt.set(event.id, { at: Date.now() + delay, delay });
        undelivered = Math.min(undelivered, event.id);
        this.log.error(`subscriber ${sub.name}: job ${event.job.id} ${event.kind} (event ${event.id}) failed, trying again in ${delay / 1000} s: ${error instanceof Error ? error.message : error}`);
      }
    }
    // A full page may leave undelivered events above it.
    if (rows.length === BATCH) undelivered = Math.min(undelivered, rows[rows.length - 1]!.id + 1);
    await this.raiseFloor(sub, startedAt, undelivered);
    return handled;
  }

  /** After a look that began at `lookAt` and left `undelivered` (lowest id) behind. */
  private async raiseFloor(sub: Subscription, lookAt: number, undelivered: number): Promise<void> {
    let settled = sub.floor;
    const lag = this.options.floorLagMs ?? FLOOR_LAG_MS;
    while (sub.marks.length > 0 && sub.marks[0]!.at <= lookAt - lag) settled = Math.max(settled, sub.marks.shift()!.id);
    sub.floor = Math.max(sub.floor, Math.min(settled, undelivered - 1));
    const last = sub.marks[sub.marks.length - 1];
    if (last && Date.now() - last.at < Math.min(MARK_EVERY_MS, lag / 4)) return;
    const [row] = await this.db.select({ newest: sql<string | null>`max(${jobEvents.id})` }).from(jobEvents);
    if (row?.newest != null) sub.marks.push({ at: Date.now(), id: Number(row.newest) });
  }

  /** Deletes events older than a week that every subscriber seen this week and handed their kind has handled (hourly in the loop; for tests). */
  async prune(): Promise<void> {
    await this.db.delete(jobEventSubscribers).where(lt(jobEventSubscribers.lastSeenAt, sql`now() - make_interval(days => ${KEEP_DAYS * 4})`));
    await this.db.delete(jobEvents).where(
      and(
        lt(jobEvents.createdAt, sql`now() - make_interval(days => ${KEEP_DAYS})`),
        sql`NOT EXISTS (SELECT 1 FROM ${jobEventSubscribers} s WHERE s.since_id < ${jobEvents.id} AND s.last_seen_at > now() - make_interval(days => ${KEEP_DAYS})
              AND (s.kinds IS NULL OR ${jobEvents.kind} = ANY (s.kinds))
              AND NOT EXISTS (SELECT 1 FROM ${jobEventDeliveries} d WHERE d.subscriber = s.name AND d.event_id = ${jobEvents.id}))`,
      ),
    );
  }
}

