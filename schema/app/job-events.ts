import { sql } from "drizzle-orm";
import { bigint, bigserial, check, index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { Job } from "../../runner/protocol/index.ts";
import { jobs } from "./jobs.ts";

/** What the job service publishes (daemon/jobs/events.ts). */
export const JOB_EVENT_KINDS = ["submitted", "ended"] as const;
export type JobEventKind = (typeof JOB_EVENT_KINDS)[number];

/**
 * The outbox: one row per event, written in the transaction that changed the job, so an event
 * exists exactly when its change committed.
 */
export const jobEvents = pgTable(
  "job_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    kind: text("kind").$type<JobEventKind>().notNull(),
    jobId: uuid("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    // The job as the API showed it at that moment (runner/protocol/job.ts).
    job: jsonb("job").$type<Job>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("job_events_created_idx").on(t.createdAt),
    check("job_events_kind_check", sql.raw(`kind in (${JOB_EVENT_KINDS.map((k) => `'${k}'`).join(", ")})`)),
  ],
);

/** A durable subscriber: it sees events after `since_id` (those that existed before it first subscribed are not its). */
export const jobEventSubscribers = pgTable("job_event_subscribers", {
  name: text("name").primaryKey(),
  sinceId: bigint("since_id", { mode: "number" }).notNull(),
  // The kinds it is handed (null: every kind); events of other kinds get no delivery row for it.
  kinds: text("kinds").array().$type<JobEventKind[]>(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  // Refreshed at every start; events are kept for subscribers seen in the last 7 days.
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Event × subscriber handled: inserted in the same transaction as the subscriber's own work. */
export const jobEventDeliveries = pgTable(
  "job_event_deliveries",
  {
    subscriber: text("subscriber")
      .notNull()
      .references(() => jobEventSubscribers.name, { onDelete: "cascade" }),
    eventId: bigint("event_id", { mode: "number" })
      .notNull()
      .references(() => jobEvents.id, { onDelete: "cascade" }),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.subscriber, t.eventId] })],
);
