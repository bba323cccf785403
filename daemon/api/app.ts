import { openapi } from "@elysiajs/openapi";
import { Elysia, ValidationError } from "elysia";
import { VERSION } from "../../runner/protocol/version.ts";
import { createMetrics, type Metrics } from "../metrics/metrics.ts";
import { DEFAULT_BODY_LIMIT, type AppDeps } from "./deps.ts";
import { readJsonBody } from "./body.ts";
import { ApiError, badRequest, errorResponse, notFound, tooLarge } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { internalRoutes } from "./routes/internal.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { projectRoutes } from "./routes/projects.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { validationMessage } from "./validation-message.ts";

/**
 * The coordinator's HTTP API from its dependencies, with no listening socket: `serve` calls
 * `.listen`, tests call `app.handle(new Request(...))`.
 */
export function buildApp(deps: AppDeps) {
  const limit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const metrics = createMetrics(deps.db);
  const started = new WeakMap<Request, number>();
  const app = new Elysia({ normalize: false })
    .use(
      openapi({
        path: "/api/docs",
        documentation: { info: { title: "Reactorcide API", version: VERSION } },
      }),
    )
    .onRequest(({ request }) => {
      started.set(request, performance.now());
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > limit) return errorResponse(tooLarge(limit));
    })
    // Bodies are read here, as JSON only, so an oversized chunked body is refused and bad JSON gets our error shape.
    .onParse(({ request, contentType }) => readJsonBody(request, contentType, limit))
    .onError(({ error, code }) => {
      if (error instanceof ApiError) return errorResponse(error);
      if (error instanceof ValidationError) {
        const first = error.all[0];
        if (!first || !("path" in first)) return errorResponse(badRequest("invalid request"));
        const { field, message } = validationMessage(first);
        return errorResponse(badRequest(message, field));
      }
      if (code === "PARSE" && error.cause instanceof ApiError) return errorResponse(error.cause);
      if (code === "PARSE") return errorResponse(new ApiError(400, "malformed_json", "the request body could not be parsed"));
      if (code === "NOT_FOUND") return errorResponse(notFound("route"));
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
    .use(projectRoutes(deps))
    .use(secretRoutes(deps))
    .use(jobRoutes(deps, metrics))
    .use(internalRoutes(deps, metrics));
  return { app, metrics };
}
