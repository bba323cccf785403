import { t } from "elysia";
import { router } from "../router.ts";
import { literalUnion, WORKFLOW_RUN_STATUSES, WorkflowRunListSchema, WorkflowRunSchema, WorkflowSubmitSchema } from "../../../runner/protocol/index.ts";
import { answers } from "../responses.ts";
import type { Principal } from "../../auth/tokens.ts";
import { revokeJobTokens } from "../../auth/job-tokens.ts";
import { existingSecretKeys } from "../../secrets/store.ts";
import { DefinitionError, parseWorkflowDefinition } from "../../workflows/definition.ts";
import { getWorkflowRun, listWorkflowRuns, TriggerRefused, WorkflowConflict, type RunContext, type WorkflowEngine } from "../../workflows/engine.ts";
import { auditLog } from "../../../schema/app/index.ts";
import { decideForkPr, keyOf } from "../../vcs/approvals.ts";
import { workflowRunView } from "../../workflows/view.ts";
import { readableProjectIds, requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, badRequest, conflict, notFound, uuidOr404 } from "../errors.ts";
import { queryInt } from "../job-schemas.ts";
import { jobLogEnded } from "../job-logs.ts";
import { triggerRefused } from "./triggers.ts";

const RunListQuery = t.Object({
  project: t.Optional(t.String({ minLength: 1 })),
  status: t.Optional(literalUnion(WORKFLOW_RUN_STATUSES)),
  limit: t.Optional(t.String({ pattern: "^[0-9]{1,9}$", description: "a whole number from 1 to 200 (default 50)" })),
  offset: t.Optional(t.String({ pattern: "^[0-9]{1,9}$", description: "a whole number (default 0)" })),
});

/** Workflow runs: start one from a workflow file, list, show, cancel, retry, retry-failed. Same roles as jobs. */
export function workflowRoutes(deps: AppDeps, workflows: WorkflowEngine) {
  const { db } = deps;

  async function runFor(me: Principal, rawId: string, min: "read" | "write") {
    const found = await getWorkflowRun(db, uuidOr404(rawId, "workflow run"));
    if (!found) throw notFound("workflow run");
    try {
      await requireProjectRole(db, me, found.run.projectId, min);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw notFound("workflow run");
      throw error;
    }
    return found;
  }
  const conflictOf = (error: unknown) => {
    if (error instanceof WorkflowConflict) return conflict(error.message, "status");
    if (error instanceof TriggerRefused) return triggerRefused(error);
    return error;
  };

  /** Approve or decline: a fork pull request's run binds the decision to its pull request, head and base SHA (daemon/vcs/approvals.ts). */
  async function decide(me: Principal, rawId: string, decision: "approved" | "declined") {
    const { run } = await runFor(me, rawId, "write");
    if (run.status !== "awaiting_approval") throw conflict(`workflow run is ${run.status}; only a run awaiting approval can be ${decision}`, "status");
    const fork = (run.context as unknown as RunContext).forkPr;
    const who = { by: me.userName, via: "api" as const, userId: me.userId, tokenId: me.tokenId };
    if (fork) {
      await decideForkPr(workflows, keyOf(run.projectId, fork), decision, who, { targetType: "workflow_run", targetId: run.id }).catch((error) => {
        throw conflictOf(error);
      });
    } else {
      // A run made to wait by its submitter (engine.start awaitingApproval) has no pull request to bind to.
      await workflows
        .commit(async (tx, created) => {
          if (decision === "approved") await workflows.approveIn(tx, created, run.id);
          else await workflows.declineIn(tx, run.id, `declined by ${me.userName}`);
          await tx.insert(auditLog).values({
            userId: me.userId,
            tokenId: me.tokenId,
            action: decision === "approved" ? "workflow.approve" : "workflow.decline",
            targetType: "workflow_run",
            targetId: run.id,
            details: { by: me.userName, via: "api", sha: run.commitSha },
          });
        })
        .catch((error) => {
          throw conflictOf(error);
        });
    }
    return workflowRunView((await getWorkflowRun(db, run.id))!);
  }

  return router("/api/v1/workflows")
    .post(
      "/",
      async ({ body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, body.project, "write", "project");
        const text = body.workflow;
        if (!(typeof text === "string" && text.trim() !== "") && !(text && typeof text === "object" && !Array.isArray(text))) {
          throw badRequest("workflow: must be the workflow file as YAML text or as a JSON object", "workflow");
        }
        let workflow;
        try {
          workflow = parseWorkflowDefinition(body.workflow, body.name);
        } catch (error) {
          if (error instanceof DefinitionError) throw badRequest(error.message, error.problems[0]?.field ?? "workflow");
          throw error;
        }
        const wanted = [...new Set(body.secrets ?? [])];
        const known = await existingSecretKeys(db, project.id, wanted);
        const missing = wanted.filter((k) => !known.has(k));
        if (missing.length) throw badRequest(`secrets: project ${project.name} has no secret ${missing.join(", ")}`, "secrets");
        const run = await workflows
          .start({
            projectId: project.id,
            workflow,
            event: body.event,
            ref: body.ref,
            sha: body.sha,
            branch: body.branch,
            source: body.source ?? null,
            ciSource: body.ci_source ?? (project.ciSourceUrl ? { type: "git", url: project.ciSourceUrl, ref: project.ciSourceRef ?? undefined } : null),
            secrets: wanted,
            image: project.defaultImage,
            submittedBy: me.userId,
          })
          .catch((error) => {
            throw conflictOf(error);
          });
        await audit(db, me, "workflow.start", "workflow_run", run.id, { name: run.name });
        set.status = 201;
        return workflowRunView((await getWorkflowRun(db, run.id))!);
      },
      { body: WorkflowSubmitSchema, response: answers({ 201: WorkflowRunSchema }, 404, 409, 422), detail: { summary: "Start a run of a workflow file (YAML text or JSON); 201 with the run" } },
    )
    .get(
      "/",
      async ({ query, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        let projectIds = await readableProjectIds(db, me);
        if (query.project) projectIds = [(await requireProjectRole(db, me, query.project, "read", "project")).id];
        const limit = queryInt(query.limit, "limit", 1, 200, 50);
        const offset = queryInt(query.offset, "offset", 0, 1e9, 0);
        const rows = await listWorkflowRuns(db, { projectIds, status: query.status, limit: limit + 1, offset });
        return { workflows: rows.slice(0, limit).map(workflowRunView), next_offset: rows.length > limit ? offset + limit : null };
      },
      { query: RunListQuery, response: answers({ 200: WorkflowRunListSchema }, 404), detail: { summary: "Workflow runs you can read, newest first" } },
    )
    .get(
      "/:id",
      async ({ params, request }) => workflowRunView(await runFor(await requirePrincipal(db, request.headers, "api"), params.id, "read")),
      { response: answers({ 200: WorkflowRunSchema }, 404), detail: { summary: "One workflow run with its nodes" } },
    )
    .post(
      "/:id/cancel",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const { run } = await runFor(me, params.id, "write");
        const { cancelledJobs } = await workflows.cancel(run.id, me.userName).catch((error) => {
          throw conflictOf(error);
        });
        for (const job of cancelledJobs) {
          await deps.queue.cancel(job);
          await revokeJobTokens(db, job.id);
          await jobLogEnded(deps, job.id);
        }
        await audit(db, me, "workflow.cancel", "workflow_run", run.id);
        return workflowRunView((await getWorkflowRun(db, run.id))!);
      },
      { response: answers({ 200: WorkflowRunSchema }, 404, 409, 422), detail: { summary: "Cancel a run: waiting nodes cancelled, queued and running jobs stopped" } },
    )
    .post(
      "/:id/approve",
      async ({ params, request }) => decide(await requirePrincipal(db, request.headers, "api"), params.id, "approved"),
      {
        response: answers({ 200: WorkflowRunSchema }, 404, 409),
        detail: {
          summary:
            "Approve a run awaiting approval (a fork pull request's): it and every run of the same pull request, head SHA and base SHA start; write role; 409 when it is not awaiting approval",
        },
      },
    )
    .post(
      "/:id/decline",
      async ({ params, request }) => decide(await requirePrincipal(db, request.headers, "api"), params.id, "declined"),
      {
        response: answers({ 200: WorkflowRunSchema }, 404, 409),
        detail: { summary: "Decline a run awaiting approval: it (and the runs of the same pull request, head and base) end failure \"declined by <you>\"; write role" },
      },
    )
    .post(
      "/:id/retry",
      async ({ params, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const { run } = await runFor(me, params.id, "write");
        const again = await workflows.retry(run.id, me.userId).catch((error) => {
          throw conflictOf(error);
        });
        await audit(db, me, "workflow.retry", "workflow_run", again.id, { retry_of: run.id });
        set.status = 201;
        return workflowRunView((await getWorkflowRun(db, again.id))!);
      },
      { response: answers({ 201: WorkflowRunSchema }, 404, 409, 422), detail: { summary: "A new run of the same workflow definition" } },
    )
    .post(
      "/:id/retry-failed",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const { run } = await runFor(me, params.id, "write");
        await workflows.retryFailed(run.id).catch((error) => {
          throw conflictOf(error);
        });
        await audit(db, me, "workflow.retry_failed", "workflow_run", run.id);
        return workflowRunView((await getWorkflowRun(db, run.id))!);
      },
      { response: answers({ 200: WorkflowRunSchema }, 404, 409, 422), detail: { summary: "Run failed, cancelled and timed-out nodes (and those depending on them) again, in the same run" } },
    );
}
