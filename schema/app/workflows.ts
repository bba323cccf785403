import { sql } from "drizzle-orm";
import { bigint, bigserial, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { jobs, workflowRuns } from "./jobs.ts";

import { WORKFLOW_NODE_STATUSES, type WorkflowNodeStatus } from "../../runner/protocol/workflow-run.ts";
export { WORKFLOW_NODE_STATUSES, type WorkflowNodeStatus };

/** One job of a workflow run: from the workflow file (for_each expanded) or added by a trigger. */
export const workflowNodes = pgTable(
  "workflow_nodes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    runId: uuid("run_id")
      .notNull()
      .references(() => workflowRuns.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    // The loaded job (runner/workflow/load.ts WorkflowJob): spec, condition, if.
    spec: jsonb("spec").$type<Record<string, unknown>>().notNull(),
    dependsOn: jsonb("depends_on").$type<string[]>().notNull().default([]),
    condition: text("condition").notNull().default("all_success"),
    status: text("status").$type<WorkflowNodeStatus>().notNull().default("waiting"),
    jobId: uuid("job_id").references(() => jobs.id, { onDelete: "set null" }),
    // The job whose trigger added this node (null for the workflow file's own jobs).
    parentJobId: uuid("parent_job_id").references(() => jobs.id, { onDelete: "set null" }),
    // How many triggers deep: 0 for the file's jobs, parent's depth + 1 for a triggered one.
    depth: integer("depth").notNull().default(0),
    reason: text("reason"),
    // When its dependencies had ended and its job was queued (wait-time metric: until started_at).
    readyAt: timestamp("ready_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique("workflow_nodes_run_name").on(t.runId, t.name),
    index("workflow_nodes_job_idx").on(t.jobId),
    check("workflow_nodes_status_check", sql.raw(`status in (${WORKFLOW_NODE_STATUSES.map((s) => `'${s}'`).join(", ")})`)),
  ],
);

/**
 * One row per (job, operation_id, job_name) a trigger asked for, written in the transaction that
 * adds its node: the same request arriving by POST, triggers.json and a stdout line creates one job.
 */
export const triggerReceipts = pgTable(
  "trigger_receipts",
  {
    parentJobId: uuid("parent_job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    operationId: uuid("operation_id").notNull(),
    jobName: text("job_name").notNull(),
    runId: uuid("run_id").references(() => workflowRuns.id, { onDelete: "cascade" }),
    nodeName: text("node_name"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.parentJobId, t.operationId, t.jobName] })],
);

/**
 * Durable "a workflow run changed" events (created, a node moved, ended), written in the same
 * transaction as the change. Subscribers (daemon/workflows/events.ts) read them in order after
 * their own cursor, so none is lost to a crash.
 */
export const workflowRunEvents = pgTable(
  "workflow_run_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id")
      .notNull()
      .references(() => workflowRuns.id, { onDelete: "cascade" }),
    kind: text("kind").$type<"created" | "changed" | "ended">().notNull(),
    status: text("status").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("workflow_run_events_run_idx").on(t.runId)],
);

/** How far each named subscriber has handled workflow_run_events. */
export const workflowEventCursors = pgTable("workflow_event_cursors", {
  subscriber: text("subscriber").primaryKey(),
  lastEventId: bigint("last_event_id", { mode: "number" }).notNull().default(0),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
