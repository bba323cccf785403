import { openapi } from "@elysiajs/openapi";
import { Elysia, ValidationError } from "elysia";
import { VERSION } from "../../runner/protocol/version.ts";
import { dashboardRoutes } from "../dashboard/routes.ts";
import { createMetrics, type Metrics } from "../metrics/metrics.ts";
import { DEFAULT_BODY_LIMIT, type AppDeps } from "./deps.ts";
import { readJsonBody, readLimitedBytes } from "./body.ts";
import { needsToken, principalOf } from "./access.ts";
import { csrfRefusal } from "./csrf.ts";
import { WEBHOOK_BODY_LIMIT } from "../vcs/receive.ts";
import { evalRunsPlan } from "../vcs/eval-runs.ts";
import { ApiError, badRequest, errorResponse, fromJobServiceError, notFound, tooLarge } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { internalRoutes, isLogBatchPath, isLogChunkPath, LOG_BATCH_BODY_LIMIT } from "./routes/internal.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { projectRoutes } from "./routes/projects.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { sessionRoutes } from "./routes/session.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { deliveryRoutes, webhookRoutes } from "./routes/webhooks.ts";
import { validationMessage } from "./validation-message.ts";
import { WorkflowEngine } from "../workflows/engine.ts";
import { JobService } from "../jobs/service.ts";
import { revokeJobTokens } from "../auth/job-tokens.ts";
import { jobLogEnded } from "./job-logs.ts";
import { triggerRoutes } from "./routes/triggers.ts";
import { workflowRoutes } from "./routes/workflows.ts";
import { approvalRoutes } from "./routes/approvals.ts";
import { isEventEvalJob } from "../vcs/eval-job.ts";
import { requestUrl } from "./request-url.ts";

/** The query parameter (or "path") whose decoded value holds a NUL, which no field accepts. */
function nulInUrl(url: URL): string | undefined {
  if (!/%00|\0/i.test(url.pathname + url.search)) return undefined;
  for (const [name, value] of url.searchParams) if (name.includes("\0") || value.includes("\0")) return name.replace(/\0/g, "\\0");
  return "path";
}

const WEBHOOK_PATH = "/api/v1/webhooks/";
const isWebhook = (request: Request) => requestUrl(request).pathname.startsWith(WEBHOOK_PATH);

/**
 * The coordinator's HTTP API from its dependencies, with no listening socket: `serve` calls
 * `.listen`, tests call `app.handle(new Request(...))`. `workflows` is the workflow engine the
 * routes share (VCS and notifications use it too: start runs, subscribe to run events).
 */
export function buildApp(deps: AppDeps) {
  const limit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const limitFor = (pathname: string) => (isLogBatchPath(pathname) || isLogChunkPath(pathname) ? Math.max(limit, LOG_BATCH_BODY_LIMIT) : limit);
  const metrics = createMetrics(deps.db);
  const workflows = new WorkflowEngine({ db: deps.db, queue: deps.queue, limits: deps.workflowLimits, onNodeWait: (s) => metrics.workflowNodeWait.observe(s), eventRuns: evalRunsPlan });
  const jobs = new JobService({
    db: deps.db,
    sql: deps.sql,
    queue: deps.queue,
    eventPollMs: deps.logPollMs,
    afterEnd: async (job) => {
      // Best effort here; what a crash skips: tokens expire, logs are archived on the next append or read.
      await revokeJobTokens(deps.db, job.id);
      await jobLogEnded(deps, job.id);
      if (job.startedAt && job.finishedAt) metrics.jobDuration.observe({ status: job.status }, (job.finishedAt.getTime() - job.startedAt.getTime()) / 1000);
    },
  });
  // Workflow runs move on from the durable "job ended" event: a daemon killed between a job's end
  // and its run's advance hands the event over again at start (advancing twice changes nothing).
  // An event's eval job is in no run, yet the runs it started wait for its end.
  jobs.events.subscribe("workflow-advance", async (event) => void (await workflows.jobEnded(event.job.id)), {
    kinds: ["ended"],
    wants: (event) => event.job.workflow_run_id !== null || isEventEvalJob(event.job),
  });
  const started = new WeakMap<Request, number>();
  const app = new Elysia({ normalize: false })
    .use(
      openapi({
        path: "/api/docs",
        documentation: { info: { title: "Reactorcide API", version: VERSION } },
      }),
    )
    .onRequest(async ({ request }) => {
      started.set(request, performance.now());
      const url = requestUrl(request);
      const nul = nulInUrl(url);
      if (nul) return errorResponse(badRequest(`${nul}: must not contain a NUL character`, nul));
      const length = Number(request.headers.get("content-length") ?? 0);
      const max = isWebhook(request) ? WEBHOOK_BODY_LIMIT : limitFor(url.pathname);
      if (length > max) return errorResponse(tooLarge(max));
      // A cookie-authenticated change without the session's CSRF token is refused before anything else.
      const csrf = csrfRefusal(request);
      if (csrf) return errorResponse(csrf);
      // Who is asking comes first: nobody without a valid token costs a body read, a parse or a validation.
      if (needsToken(url.pathname)) {
        try {
          await principalOf(deps.db, request.headers);
        } catch (error) {
          if (error instanceof ApiError) return errorResponse(error);
          throw error;
        }
      }
    })
    // Bodies are read here, as JSON only, so an oversized chunked body is refused and bad JSON gets our error shape.
    // A webhook's body stays bytes: its signature is over exactly those, and it is read only after the check.
    // So does a worker's packed log chunk (runner/protocol/log-chunk.ts), which its route checks.
    .onParse(({ request, contentType }) => {
      if (isWebhook(request)) return readLimitedBytes(request, WEBHOOK_BODY_LIMIT);
      const { pathname } = requestUrl(request);
      if (isLogChunkPath(pathname)) return readLimitedBytes(request, LOG_BATCH_BODY_LIMIT);
      return readJsonBody(request, contentType, limitFor(pathname));
    })
    .onError(({ error, code }) => {
      if (error instanceof ApiError) return errorResponse(error);
      const refused = fromJobServiceError(error);
      if (refused) return errorResponse(refused);
      // A response that does not match its declared schema is our bug, never the caller's.
      if (error instanceof ValidationError && error.type === "response") {
        console.error(error);
        return errorResponse(new ApiError(500, "internal", "internal error"));
      }
      if (error instanceof ValidationError) {
        const first = error.all[0];
        if (!first || !("path" in first)) return errorResponse(badRequest("invalid request"));
        const { field, message } = validationMessage(first);
        return errorResponse(badRequest(message, field));
      }
      if (code === "PARSE" && error.cause instanceof ApiError) return errorResponse(error.cause);
      if (code === "PARSE") return errorResponse(new ApiError(400, "malformed_json", "the request body could not be parsed"));
      if (code === "NOT_FOUND") return errorResponse(notFound("route"));
      // Text Postgres cannot store (a NUL that got past the schemas): the caller's input, not our failure.
      const pgCode = (error as { code?: unknown }).code ?? ((error as { cause?: { code?: unknown } }).cause?.code);
      if (pgCode === "22021" || pgCode === "22P05") return errorResponse(badRequest("text values must not contain a NUL character"));
      console.error(error);
      return errorResponse(new ApiError(500, "internal", "internal error"));
    })
    .onAfterResponse(({ request, route, set }) => {
      const begin = started.get(request);
      if (begin === undefined) return;
      const status = typeof set.status === "number" ? set.status : 200;
      metrics.httpDuration.observe({ method: request.method, route: route || "unmatched", status: String(status) }, (performance.now() - begin) / 1000);
    })
    .use(healthRoutes(deps, metrics))
    .use(tokenRoutes(deps))
    .use(sessionRoutes(deps))
    .use(projectRoutes(deps))
    .use(secretRoutes(deps))
    .use(notificationRoutes(deps))
    .use(jobRoutes(deps, metrics, jobs))
    .use(triggerRoutes(deps, workflows))
    .use(workflowRoutes(deps, workflows))
    .use(approvalRoutes(deps))
    .use(internalRoutes(deps, jobs, workflows))
    .use(webhookRoutes(deps))
    .use(deliveryRoutes(deps))
    .use(dashboardRoutes());
  return { app, metrics, workflows, jobs };
}
