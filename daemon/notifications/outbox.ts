/**
 * The notification outbox in Postgres. `recordEnded` runs in the transaction that records the
 * end (or in the job service's durable event handler), so a crash either keeps the event and its
 * deliveries or neither; the dispatcher sends what is due.
 */
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { notificationDeliveries, notificationRules, notificationStreaks } from "../../schema/app/index.ts";
import type { Db, DbOrTx } from "../db/client.ts";
import { isFailed, type Ended } from "./ended.ts";
import { isFixed, ruleFires } from "./match.ts";
import type { Delivery } from "./rules.ts";

export const NOTIFY_CHANNEL = "reactorcide_notifications";

/**
 * Records the end of a run or job: one delivery per rule that fires (at most one per rule and
 * subject, so handling the same event twice adds nothing), and the status `fixed` compares the
 * next end against. Returns how many deliveries were added.
 */
export async function recordEnded(tx: DbOrTx, ended: Ended): Promise<number> {
  const branch = ended.branch ?? "";
  // Locks the streak row, so two ends on one branch at once are ordered.
  const [previous] = await tx
    .select()
    .from(notificationStreaks)
    .where(
      and(
        eq(notificationStreaks.projectId, ended.projectId),
        eq(notificationStreaks.subject, ended.subject),
        eq(notificationStreaks.name, ended.name),
        eq(notificationStreaks.branch, branch),
      ),
    )
    .for("update");
  const previousStatus = previous && previous.lastFinishedAt <= ended.finishedAt ? previous.lastStatus : undefined;
  // A cancel says nothing about whether the branch is broken: it leaves the streak as it was.
  if (ended.status === "success" || isFailed(ended.status)) {
    await tx
      .insert(notificationStreaks)
      .values({ projectId: ended.projectId, subject: ended.subject, name: ended.name, branch, lastStatus: ended.status, lastFinishedAt: ended.finishedAt })
      .onConflictDoUpdate({
        target: [notificationStreaks.projectId, notificationStreaks.subject, notificationStreaks.name, notificationStreaks.branch],
        set: { lastStatus: ended.status, lastFinishedAt: ended.finishedAt },
        // An older end arriving late does not overwrite a newer one.
        setWhere: lte(notificationStreaks.lastFinishedAt, ended.finishedAt),
      });
  }
  const rules = await tx.select().from(notificationRules).where(eq(notificationRules.projectId, ended.projectId));
  const firing = rules.filter((rule) => ruleFires(rule, ended, previousStatus));
  if (firing.length === 0) return 0;
  const fixed = isFixed(ended.status, previousStatus);
  const added = await tx
    .insert(notificationDeliveries)
    .values(firing.map((rule) => ({ ruleId: rule.id, projectId: ended.projectId, subject: ended.subject, subjectId: ended.id, status: ended.status, fixed })))
    .onConflictDoNothing()
    .returning({ id: notificationDeliveries.id });
  if (added.length > 0) await tx.execute(sql`SELECT pg_notify(${NOTIFY_CHANNEL}, '')`);
  return added.length;
}

/** A delivery of the sample for `rule`, claimed by the caller for `leaseMs` so it can send it at once. */
export async function recordTest(db: Db, rule: { id: string; projectId: string }, leaseMs: number): Promise<Delivery> {
  const [row] = await db
    .insert(notificationDeliveries)
    .values({
      ruleId: rule.id,
      projectId: rule.projectId,
      subject: "test",
      subjectId: crypto.randomUUID(),
      status: "failure",
      attempts: 1,
      nextAttemptAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
    })
    .returning();
  return row!;
}

/**
 * Claims up to `limit` due deliveries: each gets a lease (its due time moves `leaseMs` ahead), so a
 * sender that dies mid-attempt leaves the row to be tried again once the lease runs out, and two
 * coordinators never send the same row at once.
 */
export async function claimDue(db: Db, limit: number, leaseMs: number): Promise<Delivery[]> {
  const claimed = await db.execute<{ id: string }>(sql`
    UPDATE notification_deliveries SET attempts = attempts + 1, next_attempt_at = now() + ${`${leaseMs} milliseconds`}::interval
    WHERE id IN (
      SELECT id FROM notification_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING id`);
  const ids = [...claimed].map((r) => r.id);
  return ids.length ? db.select().from(notificationDeliveries).where(inArray(notificationDeliveries.id, ids)) : [];
}

/** Keeps the first payload built, so a retry sends what the first attempt sent. */
export async function storePayload(db: Db, id: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [row] = await db
    .update(notificationDeliveries)
    .set({ payload: sql`coalesce(${notificationDeliveries.payload}, ${JSON.stringify(payload)}::jsonb)` })
    .where(eq(notificationDeliveries.id, id))
    .returning({ payload: notificationDeliveries.payload });
  return row?.payload ?? payload;
}

export async function markDelivered(db: Db, id: string): Promise<void> {
  await db
    .update(notificationDeliveries)
    .set({ state: "delivered", deliveredAt: new Date(), lastError: null })
    .where(and(eq(notificationDeliveries.id, id), eq(notificationDeliveries.state, "pending")));
}

/** Schedules the next attempt after `delayMs`, or gives up (state `failed`) once the delivery is `giveUpMs` old. */
export async function markAttemptFailed(db: Db, id: string, error: string, delayMs: number, giveUpMs: number): Promise<Delivery["state"]> {
  const [row] = await db
    .update(notificationDeliveries)
    .set({
      lastError: error.slice(0, 2000),
      state: sql`CASE WHEN ${notificationDeliveries.createdAt} + ${`${giveUpMs} milliseconds`}::interval <= now() + ${`${delayMs} milliseconds`}::interval THEN 'failed' ELSE 'pending' END`,
      nextAttemptAt: sql`now() + ${`${delayMs} milliseconds`}::interval`,
    })
    .where(and(eq(notificationDeliveries.id, id), eq(notificationDeliveries.state, "pending")))
    .returning({ state: notificationDeliveries.state });
  return row?.state ?? "failed";
}

/** Milliseconds until the earliest pending delivery is due (0 when one is due now), or undefined when none is pending. */
export async function nextDueInMs(db: Db): Promise<number | undefined> {
  const [row] = await db
    .select({ ms: sql<number | null>`(extract(epoch from (min(${notificationDeliveries.nextAttemptAt}) - now())) * 1000)::float8` })
    .from(notificationDeliveries)
    .where(eq(notificationDeliveries.state, "pending"));
  // Clamped here, not with SQL greatest(): that skips a NULL, so "none pending" read as "due now"
  // and an idle dispatcher looked again every 5 ms (two statements each).
  return row?.ms == null ? undefined : Math.max(0, row.ms);
}

/** How long delivered and failed deliveries are kept (the API shows the newest of each rule). */
export const KEEP_FINISHED_MS = 30 * 24 * 60 * 60_000;

/** Deletes delivered and failed deliveries older than `keepMs`; pending ones stay whatever their age. */
export async function pruneFinished(db: Db, keepMs = KEEP_FINISHED_MS): Promise<number> {
  const rows = await db
    .delete(notificationDeliveries)
    .where(and(inArray(notificationDeliveries.state, ["delivered", "failed"]), lte(notificationDeliveries.createdAt, sql`now() - ${`${keepMs} milliseconds`}::interval`)))
    .returning({ id: notificationDeliveries.id });
  return rows.length;
}
