import { t } from "elysia";
import { AwaitingApprovalListSchema } from "../../../runner/protocol/index.ts";
import { listAwaitingApproval } from "../../workflows/awaiting-approval.ts";
import { requirePrincipal, requireProjectRole } from "../access.ts";
import type { AppDeps } from "../deps.ts";
import { queryInt } from "../job-schemas.ts";
import { answers } from "../responses.ts";
import { router } from "../router.ts";

const ApprovalsQuery = t.Object({
  project: t.Optional(t.String({ minLength: 1, description: "only this project's runs (id or name)" })),
  limit: t.Optional(t.String({ pattern: "^[0-9]{1,9}$", description: "a whole number from 1 to 200 (default 100)" })),
  offset: t.Optional(t.String({ pattern: "^[0-9]{1,9}$", description: "a whole number (default 0)" })),
});

/** What waits for a person: runs awaiting approval (fork pull requests'), across the caller's projects. */
export function approvalRoutes(deps: AppDeps) {
  const { db } = deps;
  return router("/api/v1/approvals").get(
    "/",
    async ({ query, request }) => {
      const me = await requirePrincipal(db, request.headers, "api");
      const projectId = query.project ? (await requireProjectRole(db, me, query.project, "read", "project")).id : undefined;
      const limit = queryInt(query.limit, "limit", 1, 200, 100);
      const offset = queryInt(query.offset, "offset", 0, 1e9, 0);
      const rows = await listAwaitingApproval(db, me, { projectId, limit: limit + 1, offset });
      return { approvals: rows.slice(0, limit), next_offset: rows.length > limit ? offset + limit : null };
    },
    {
      query: ApprovalsQuery,
      response: answers({ 200: AwaitingApprovalListSchema }, 404),
      detail: {
        summary:
          "Workflow runs awaiting approval in the projects you may read, oldest first, each with your role and whether you may approve or decline it (write role: POST /api/v1/workflows/{id}/approve|decline)",
      },
    },
  );
}
