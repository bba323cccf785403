import { TriggerOutcomeSchema, TriggerPayloadSchema, type TriggerOutcome as TriggerOutcomeBody } from "../../../runner/protocol/trigger.ts";
import { answers } from "../responses.ts";
import { router } from "../router.ts";
import { TriggerRefused, type TriggerOutcome, type WorkflowEngine } from "../../workflows/engine.ts";
import { getJob } from "../../jobs/store.ts";
import { requirePrincipal } from "../access.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, conflict, forbidden, notFound, uuidOr404 } from "../errors.ts";

/** A refused trigger: 422 with the reason and the field it concerns. */
export function triggerRefused(error: TriggerRefused): ApiError {
  return new ApiError(422, "trigger_refused", error.message, error.field);
}

export function triggerOutcomeView(outcome: TriggerOutcome): TriggerOutcomeBody {
  return { workflow_run_id: outcome.runId, created: outcome.created, duplicates: outcome.duplicates };
}

/** POST /api/v1/jobs/{id}/triggers: a running job asks for follow-up jobs with its own job token. */
export function triggerRoutes(deps: AppDeps, workflows: WorkflowEngine) {
  const { db } = deps;
  return router("/api/v1/jobs").post(
    "/:id/triggers",
    async ({ params, body, request, set }) => {
      const me = await requirePrincipal(db, request.headers, "job");
      const id = uuidOr404(params.id, "job");
      if (me.jobId !== id) throw forbidden("a job token may only trigger follow-up jobs of its own job");
      const job = await getJob(db, id);
      if (!job) throw notFound("job");
      if (job.status !== "running") throw conflict(`job is ${job.status}; only a running job triggers follow-up jobs`, "status");
      try {
        const outcome = await workflows.extendFromTrigger(id, body, "api");
        set.status = 201;
        return triggerOutcomeView(outcome);
      } catch (error) {
        if (error instanceof TriggerRefused) throw triggerRefused(error);
        throw error;
      }
    },
    { body: TriggerPayloadSchema, response: answers({ 201: TriggerOutcomeSchema }, 404, 409, 422), detail: { summary: "Follow-up jobs for a running job (its job token); the same operation_id twice creates them once" } },
  );
}
