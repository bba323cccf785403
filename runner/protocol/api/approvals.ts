/** GET /api/v1/approvals: the workflow runs awaiting approval, across the projects the caller may read. */
import { Type, type Static } from "@sinclair/typebox";
import { isoTime, literalUnion, Nullable, uuid } from "../schema-parts.ts";
import { PROJECT_ROLES } from "./projects.ts";

/** The fork pull request a waiting run belongs to (what an approval of it binds to). */
export const AwaitingForkPrSchema = Type.Object(
  {
    pr_number: Type.Integer({ minimum: 1 }),
    head_repo_url: Type.String({ description: "the fork's clone URL" }),
    head_sha: Type.String(),
    base_sha: Type.String(),
    author: Nullable(Type.String({ description: "the pull request's author on the forge" })),
    maintainer: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** One run awaiting approval. */
export const AwaitingApprovalSchema = Type.Object(
  {
    run_id: uuid("the workflow run"),
    run_name: Type.String(),
    project_id: uuid("its project"),
    project_name: Type.String(),
    event: Nullable(Type.String()),
    ref: Nullable(Type.String({ description: "the branch its rules matched (a pull request's target)" })),
    sha: Nullable(Type.String()),
    fork_pr: Nullable(AwaitingForkPrSchema),
    waiting_since: isoTime("the run was made, awaiting approval"),
    role: literalUnion(PROJECT_ROLES, { description: "the caller's role on the project (admin for an administrator)" }),
    may_approve: Type.Boolean({ description: "the caller may approve or decline it (POST /api/v1/workflows/{id}/approve|decline): write role or more" }),
  },
  { additionalProperties: false },
);
export type AwaitingApprovalView = Static<typeof AwaitingApprovalSchema>;

export const AwaitingApprovalListSchema = Type.Object(
  {
    approvals: Type.Array(AwaitingApprovalSchema, { description: "oldest waiting first" }),
    next_offset: Nullable(Type.Integer({ minimum: 0, description: "pass as offset for the next page; null on the last" })),
  },
  { additionalProperties: false },
);
export type AwaitingApprovalList = Static<typeof AwaitingApprovalListSchema>;
