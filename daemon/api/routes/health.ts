import { router } from "../router.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, errorResponse } from "../errors.ts";

export function healthRoutes(deps: AppDeps, metrics: Metrics) {
  return router()
    .get("/healthz", () => ({ status: "ok" }), { detail: { summary: "The process is alive" } })
    .get(
      "/readyz",
      async () => {
        try {
          await deps.sql`SELECT 1`;
          return { status: "ready" };
        } catch {
          return errorResponse(new ApiError(503, "unavailable", "the database is not reachable"));
        }
      },
      { detail: { summary: "The database is reachable" } },
    )
    .get(
      "/metrics",
      async () =>
        new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }),
      { detail: { summary: "Prometheus metrics" } },
    );
}
