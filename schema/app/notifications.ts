import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { bytea, projects } from "./projects.ts";
import { users } from "./users.ts";

import {
  DELIVERY_STATUSES,
  NOTIFICATION_SUBJECTS,
  NOTIFICATION_TARGET_TYPES,
  NOTIFY_ON,
  type DeliveryStatus,
  type NotificationSubject,
  type NotificationTargetType,
  type NotifyOn,
} from "../../runner/protocol/api/notifications.ts";
export { DELIVERY_STATUSES, NOTIFICATION_SUBJECTS, NOTIFICATION_TARGET_TYPES, NOTIFY_ON, type DeliveryStatus, type NotificationSubject, type NotificationTargetType, type NotifyOn };

/**
 * The target as stored in the clear. A webhook's URL (an incoming-webhook URL carries its credential
 * in the path) and signing secret are sealed in the `sealed_*` columns; only the URL's origin is here.
 */
export type StoredTarget = { type: "email"; to: string[] } | { type: "webhook"; origin: string; signed: boolean };
/** What the sealed columns hold, as JSON. */
export interface SealedWebhook {
  url: string;
  secret?: string;
}

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

export const notificationRules = pgTable(
  "notification_rules",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    on: text("on").$type<NotifyOn>().notNull().default("failure"),
    /** Also jobs that end on their own (outside a workflow run); workflow runs always count. */
    jobs: boolean("jobs").notNull().default(false),
    /** Branch globs (`main`, `release/*`); empty means every branch, and runs without one. */
    branches: jsonb("branches").$type<string[]>().notNull().default([]),
    /** Event names (`push`, `pull_request_opened`, ...); empty means every event. */
    events: jsonb("events").$type<string[]>().notNull().default([]),
    target: jsonb("target").$type<StoredTarget>().notNull(),
    // A webhook's SealedWebhook, sealed like project secrets (daemon/secrets/cipher.ts).
    sealedNonce: bytea("sealed_nonce"),
    sealedValue: bytea("sealed_value"),
    sealedKeyId: text("sealed_key_id"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("notification_rules_project_idx").on(t.projectId),
    check("notification_rules_on_check", sql.raw(`"on" in (${quoted(NOTIFY_ON)})`)),
    check("notification_rules_target_check", sql.raw(`target->>'type' in (${quoted(NOTIFICATION_TARGET_TYPES)})`)),
  ],
);


/**
 * The outbox: one row per (rule, event), written in the transaction that records the event, sent
 * by the dispatcher, retried with backoff until delivered or 24 hours old. The row id is the
 * delivery id the receiver sees.
 */
export const notificationDeliveries = pgTable(
  "notification_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    ruleId: uuid("rule_id")
      .notNull()
      .references(() => notificationRules.id, { onDelete: "cascade" }),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    subject: text("subject").$type<NotificationSubject>().notNull(),
    /** The workflow run's or job's id; a fresh id for a test. */
    subjectId: uuid("subject_id").notNull(),
    /** What the subject ended as, and whether that fixed an earlier failure. */
    status: text("status").notNull(),
    fixed: boolean("fixed").notNull().default(false),
    state: text("state").$type<DeliveryStatus>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** Due time; while an attempt runs, the end of its lease (a crashed sender's row comes back then). */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lastError: text("last_error"),
    /** The message as first built, so every retry sends the same content. */
    payload: jsonb("payload").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [
    // At most once per event and target.
    unique("notification_deliveries_rule_subject").on(t.ruleId, t.subject, t.subjectId),
    index("notification_deliveries_due_idx").on(t.state, t.nextAttemptAt),
    index("notification_deliveries_rule_idx").on(t.ruleId, t.createdAt),
    check("notification_deliveries_state_check", sql.raw(`state in (${quoted(DELIVERY_STATUSES)})`)),
    check("notification_deliveries_subject_check", sql.raw(`subject in (${quoted(NOTIFICATION_SUBJECTS)})`)),
  ],
);

/**
 * The last end status per project, subject kind, name (workflow or job) and branch, kept by the
 * notification handler so `fixed` can be told: a success whose previous status here was a failure.
 */
export const notificationStreaks = pgTable(
  "notification_streaks",
  {
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    subject: text("subject").$type<NotificationSubject>().notNull(),
    name: text("name").notNull(),
    /** Empty when the run has no branch. */
    branch: text("branch").notNull().default(""),
    lastStatus: text("last_status").notNull(),
    lastFinishedAt: timestamp("last_finished_at", { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.subject, t.name, t.branch] })],
);
