import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid, type AnyPgColumn } from "drizzle-orm/pg-core";
import { JOB_STATUSES, LOG_STREAMS, MAX_RETRIES, NETWORK_MODES, type JobStatus, type JobStepResult, type LogStream, type NetworkMode, type Resources, type Source, type StepSpec } from "../../runner/protocol/index.ts";
import { bytea, projects } from "./projects.ts";
import { users } from "./users.ts";

// Statuses, their moves, sources and resources are the wire contract's (runner/protocol/job.ts).

import { WORKFLOW_RUN_ENDED, WORKFLOW_RUN_STATUSES, type WorkflowRunStatus } from "../../runner/protocol/workflow-run.ts";
export { WORKFLOW_RUN_ENDED, WORKFLOW_RUN_STATUSES, type WorkflowRunStatus };

export const workflowRuns = pgTable(
  "workflow_runs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    status: text("status").$type<WorkflowRunStatus>().notNull().default("running"),
    event: text("event"),
    ref: text("ref"),
    commitSha: text("commit_sha"),
    triggeredBy: uuid("triggered_by").references(() => users.id, { onDelete: "set null" }),
    // The loaded workflow (daemon/workflows/definition.ts): what retry runs again.
    definition: jsonb("definition").$type<Record<string, unknown>>().notNull().default({}),
    // What every node's job inherits: event env, source, trust, secrets (daemon/workflows/context.ts).
    context: jsonb("context").$type<Record<string, unknown>>().notNull().default({}),
    reason: text("reason"),
    retryOf: uuid("retry_of").references((): AnyPgColumn => workflowRuns.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("workflow_runs_project_idx").on(t.projectId, t.createdAt),
    index("workflow_runs_status_idx").on(t.status),
    check("workflow_runs_status_check", sql.raw(`status in (${WORKFLOW_RUN_STATUSES.map((s) => `'${s}'`).join(", ")})`)),
  ],
);

export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: uuid("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    status: text("status").$type<JobStatus>().notNull().default("queued"),
    priority: integer("priority").notNull().default(0),
    timeoutSeconds: integer("timeout_seconds").notNull().default(3600),
    attempt: integer("attempt").notNull().default(1),
    // The first attempt of a retried job; null on first attempts.
    retryOf: uuid("retry_of").references((): AnyPgColumn => jobs.id, { onDelete: "set null" }),
    source: jsonb("source").$type<Source>(),
    ciSource: jsonb("ci_source").$type<Source>(),
    // Null until a worker takes the job when neither it nor its project named one (the worker's default).
    image: text("image"),
    command: text("command").notNull(),
    // A job of steps (from a workflow file) instead of one command: the runner's step list.
    steps: jsonb("steps").$type<StepSpec[]>(),
    // What became of each step, from the runner's steps.json, recorded with the job's end.
    stepResults: jsonb("step_results").$type<JobStepResult[]>(),
    env: jsonb("env").$type<Record<string, string>>().notNull().default({}),
    secretRefs: jsonb("secret_refs").$type<string[]>().notNull().default([]),
    // Env names whose values a trigger passed on (they may be secrets of the parent): masked in the log and the API.
    secretEnvNames: jsonb("secret_env_names").$type<string[]>().notNull().default([]),
    resources: jsonb("resources").$type<Resources>(),
    network: text("network").$type<NetworkMode>().notNull().default("default"),
    retries: integer("retries").notNull().default(0),
    // Set when asked for or by policy (fork pull requests); nothing clears it.
    untrusted: boolean("untrusted").notNull().default(false),
    exitCode: integer("exit_code"),
    reason: text("reason"),
    workerId: text("worker_id"),
    logLines: integer("log_lines").notNull().default(0),
    // Lines the job's worker shipped, by its own count: a batch sent again is recognised by it.
    logShipped: integer("log_shipped").notNull().default(0),
    parentJobId: uuid("parent_job_id").references((): AnyPgColumn => jobs.id, { onDelete: "set null" }),
    workflowRunId: uuid("workflow_run_id").references(() => workflowRuns.id, { onDelete: "set null" }),
    submittedBy: uuid("submitted_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("jobs_project_created_idx").on(t.projectId, t.createdAt),
    index("jobs_status_priority_idx").on(t.status, t.priority, t.createdAt),
    check("jobs_status_check", sql.raw(`status in (${JOB_STATUSES.map((s) => `'${s}'`).join(", ")})`)),
    check("jobs_network_check", sql.raw(`network in (${NETWORK_MODES.map((s) => `'${s}'`).join(", ")})`)),
    check("jobs_retries_check", sql.raw(`retries between 0 and ${MAX_RETRIES}`)),
  ],
);

export { LOG_STREAMS, type LogStreamName as LogStream } from "../../runner/protocol/log-line.ts";

/**
 * A running job's log, one row per batch the worker shipped: lines first_seq..last_seq in the
 * stored form of runner/protocol/log-line.ts (a stream character, the text, "\n" each). A row
 * per line cost ten times the text in row headers, index entries and WAL. `packed` holds it
 * compressed with zstd by the coordinator, and Postgres stores it as it is (STORAGE EXTERNAL,
 * migration 0013): its own pglz compression held shipping to 15-30 MB/s and cost ten times the CPU.
 * `body` is the uncompressed text of rows written before. Moved to the archive, and deleted here,
 * when the job ends.
 */
export const jobLogChunks = pgTable(
  "job_log_chunks",
  {
    jobId: uuid("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    firstSeq: integer("first_seq").notNull(),
    lastSeq: integer("last_seq").notNull(),
    body: text("body"),
    packed: bytea("packed"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.jobId, t.firstSeq] }),
    check("job_log_chunks_range_check", sql`${t.lastSeq} >= ${t.firstSeq} AND ${t.firstSeq} >= 1`),
    check("job_log_chunks_body_check", sql`(${t.body} IS NULL) <> (${t.packed} IS NULL)`),
  ],
);
