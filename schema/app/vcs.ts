import { sql } from "drizzle-orm";
import { bigserial, check, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { projects } from "./projects.ts";

import { VCS_PROVIDERS, type VcsProvider } from "../../runner/protocol/api/projects.ts";
export { VCS_PROVIDERS, type VcsProvider };

/** received: recorded, not yet turned into work (processed after a restart too); processed: done, see outcome. */
export const WEBHOOK_DELIVERY_STATUSES = ["received", "processed"] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
/** accepted: an eval job started; ignored: not an event we act on; filtered: the project's allowed_events/target_branches; error: could not start. */
export const WEBHOOK_DELIVERY_OUTCOMES = ["accepted", "ignored", "filtered", "error"] as const;
export type WebhookDeliveryOutcome = (typeof WEBHOOK_DELIVERY_OUTCOMES)[number];

/** What a delivery meant, once mapped (daemon/vcs/event.ts defines it; stored so a restart or redelivery needs no re-parse). */
export type StoredVcsEvent = Record<string, unknown>;

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id").references(() => projects.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    deliveryId: text("delivery_id").notNull(),
    /** The forge's event name (X-GitHub-Event, X-Gitlab-Event). */
    event: text("event").notNull(),
    action: text("action"),
    payloadSha256: text("payload_sha256"),
    /** The payload as received (after form decoding), so a recorded delivery can be processed again. */
    payload: jsonb("payload"),
    status: text("status").$type<WebhookDeliveryStatus>().notNull().default("received"),
    outcome: text("outcome").$type<WebhookDeliveryOutcome>(),
    reason: text("reason"),
    /** The mapped event (push, pull_request_opened, ...) and its facts, when it maps to one. */
    mapped: jsonb("mapped").$type<StoredVcsEvent>(),
    /**
     * The eval job the delivery started. Deliberately no foreign key: its check locks `jobs`
     * (ROW SHARE) on every insert, even of a NULL, so the webhook's answer waited on anything
     * holding a stronger lock on jobs. Jobs are never deleted on their own; a project's go with it.
     */
    evalJobId: uuid("eval_job_id"),
    attempts: integer("attempts").notNull().default(0),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp("processed_at", { withTimezone: true }),
  },
  // The same delivery id from the same provider is handled once.
  (t) => [
    unique("webhook_deliveries_provider_delivery").on(t.provider, t.deliveryId),
    index("webhook_deliveries_project_idx").on(t.projectId, t.receivedAt),
    index("webhook_deliveries_eval_job_idx").on(t.evalJobId),
    index("webhook_deliveries_received_idx").on(t.receivedAt).where(sql`status = 'received'`),
    check("webhook_deliveries_status_check", sql.raw(`status in (${WEBHOOK_DELIVERY_STATUSES.map((s) => `'${s}'`).join(", ")})`)),
  ],
);

export const VCS_REPORT_KINDS = ["status", "comment"] as const;
export type VcsReportKind = (typeof VCS_REPORT_KINDS)[number];

/**
 * The outbox of what the VCS should show: one row per commit status context (`sha/context`) or
 * pull request summary (`pr/N`). A change bumps `version`; the reporter sends the row's latest
 * payload until the VCS accepts it and records `sent_version`, so the latest state per context
 * wins, none is lost across restarts, and one row is never sent twice at once (lease).
 */
export const vcsReports = pgTable(
  "vcs_reports",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    kind: text("kind").$type<VcsReportKind>().notNull(),
    target: text("target").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    version: integer("version").notNull().default(1),
    sentVersion: integer("sent_version").notNull().default(0),
    /** The forge's id of what we made (the summary comment's id), so it is edited, not made again. */
    remoteId: text("remote_id"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    lastError: text("last_error"),
    /** Set when the VCS refused it for good (e.g. 404: no such repository); not retried until changed again. */
    failedAt: timestamp("failed_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
  },
  (t) => [
    unique("vcs_reports_target").on(t.projectId, t.kind, t.target),
    index("vcs_reports_due_idx").on(t.nextAttemptAt).where(sql`version > sent_version and failed_at is null`),
    check("vcs_reports_kind_check", sql.raw(`kind in (${VCS_REPORT_KINDS.map((k) => `'${k}'`).join(", ")})`)),
  ],
);
