/**
 * A workflow run on the wire: POST /api/v1/workflows (a workflow file to run) and the run as the
 * API returns it, with its nodes; for a fork pull request's run, what its approval binds to and who
 * decided. The statuses are the database's too (schema/app re-exports them).
 */
import { Type, type Static } from "@sinclair/typebox";
import { SourceSchema } from "./job.ts";
import { ONE_LINE_PATTERN, SECRET_KEY_PATTERN } from "./patterns.ts";
import { isoTime, literalUnion, Nullable, uuid } from "./schema-parts.ts";
import { WORKFLOW_EVENTS } from "./workflow-spec.ts";

export const WORKFLOW_RUN_STATUSES = ["running", "awaiting_approval", "success", "failure", "cancelled"] as const;
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];
export const WORKFLOW_RUN_ENDED: readonly WorkflowRunStatus[] = ["success", "failure", "cancelled"];
/** A node is `waiting` until its dependencies end, then carries its job's status, or `skipped`. */
export const WORKFLOW_NODE_STATUSES = ["waiting", "queued", "running", "success", "failure", "error", "cancelled", "timed_out", "skipped"] as const;
export type WorkflowNodeStatus = (typeof WORKFLOW_NODE_STATUSES)[number];

const oneLine = (max: number, description?: string) => Type.String({ minLength: 1, maxLength: max, pattern: ONE_LINE_PATTERN, ...(description && { description }) });

/** POST /api/v1/workflows. */
export const WorkflowSubmitSchema = Type.Object(
  {
    project: Type.String({ minLength: 1, description: "project id or name" }),
    // Checked in the handler, so the error says both forms (a union's error names neither).
    workflow: Type.Unknown({ description: "the workflow file: YAML text, or the same document as a JSON object" }),
    name: Type.Optional(oneLine(200, "the run's name when the file has none (e.g. the file name)")),
    ref: Type.Optional(oneLine(250)),
    sha: Type.Optional(Type.String({ pattern: "^[0-9a-fA-F]{4,64}$", description: "a commit id" })),
    branch: Type.Optional(oneLine(250)),
    event: Type.Optional(literalUnion(WORKFLOW_EVENTS)),
    source: Type.Optional(SourceSchema),
    ci_source: Type.Optional(SourceSchema),
    secrets: Type.Optional(Type.Array(Type.String({ pattern: SECRET_KEY_PATTERN }), { maxItems: 100, description: "project secrets every job of the run gets" })),
  },
  { additionalProperties: false },
);
export type WorkflowSubmit = Static<typeof WorkflowSubmitSchema>;

export const WorkflowNodeSchema = Type.Object(
  {
    name: Type.String(),
    status: literalUnion(WORKFLOW_NODE_STATUSES, { description: "a queued node shows its job's live status" }),
    job_id: Nullable(uuid("its job, once queued")),
    depends_on: Type.Array(Type.String()),
    condition: Type.String({ description: "all_success, any_failed or always" }),
    reason: Nullable(Type.String()),
    parent_job_id: Nullable(uuid("the job whose trigger added it")),
  },
  { additionalProperties: false },
);
export type WorkflowNodeView = Static<typeof WorkflowNodeSchema>;

export const FORK_PR_DECISIONS = ["approved", "declined"] as const;
export type ForkPrDecision = (typeof FORK_PR_DECISIONS)[number];
export const FORK_PR_DECISION_VIAS = ["api", "comment"] as const;

/** Who approved or declined a fork pull request's head, how and when. */
export const ForkPrApprovalSchema = Type.Object(
  {
    decision: literalUnion(FORK_PR_DECISIONS),
    by: Type.String({ description: "a user name, or github:<login> / gitlab:<username> for a pull request comment" }),
    via: literalUnion(FORK_PR_DECISION_VIAS, { description: "api (API, CLI, dashboard) or comment (/reactorcide approve|decline)" }),
    at: isoTime("decided"),
  },
  { additionalProperties: false },
);

/** A fork pull request's run: what an approval of it holds for (this project, pull request, head and base SHA). */
export const ForkPrSchema = Type.Object(
  {
    pr_number: Type.Integer({ minimum: 1 }),
    head_sha: Type.String({ description: "the fork's commit the run's source is checked out at" }),
    base_sha: Type.String({ description: "the base repository's commit its job code comes from" }),
    head_repo_url: Type.String({ description: "the fork's clone URL" }),
    author: Nullable(Type.String()),
    maintainer: Type.Boolean({ description: "the author is a maintainer (GitHub OWNER/MEMBER/COLLABORATOR, GitLab Developer or higher)" }),
    approval: Nullable(ForkPrApprovalSchema),
  },
  { additionalProperties: false },
);
export type ForkPrView = Static<typeof ForkPrSchema>;

/** A workflow run as the API returns it. */
export const WorkflowRunSchema = Type.Object(
  {
    id: uuid("the run's id"),
    project_id: uuid("its project"),
    name: Type.String(),
    status: literalUnion(WORKFLOW_RUN_STATUSES),
    event: Nullable(Type.String({ description: "what started it: push, pull_request_opened, …, or null when started by hand" })),
    ref: Nullable(Type.String()),
    sha: Nullable(Type.String()),
    reason: Nullable(Type.String()),
    retry_of: Nullable(uuid("the run this one retries")),
    created_at: isoTime("started"),
    finished_at: Nullable(isoTime("ended")),
    fork_pr: Nullable(ForkPrSchema),
    nodes: Type.Array(WorkflowNodeSchema),
  },
  { additionalProperties: false },
);
export type WorkflowRunView = Static<typeof WorkflowRunSchema>;

/** GET /api/v1/workflows. */
export const WorkflowRunListSchema = Type.Object(
  { workflows: Type.Array(WorkflowRunSchema), next_offset: Nullable(Type.Integer({ minimum: 0, description: "pass as offset for the next page; null on the last" })) },
  { additionalProperties: false },
);
export type WorkflowRunList = Static<typeof WorkflowRunListSchema>;
