import { router } from "../router.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { openAnswers } from "../responses.ts";
import { HealthSchema, MetricsTextSchema, ReadySchema } from "../../../runner/protocol/index.ts";

export function healthRoutes(deps: AppDeps, metrics: Metrics) {
  return router()
    .get("/healthz", () => ({ status: "ok" as const }), { response: openAnswers({ 200: HealthSchema }), detail: { summary: "The process is alive" } })
    .get(
      "/readyz",
      async () => {
        try {
          await deps.sql`SELECT 1`;
          return { status: "ready" as const };
        } catch {
          throw new ApiError(503, "unavailable", "the database is not reachable");
        }
      },
      { response: openAnswers({ 200: ReadySchema }, 503), detail: { summary: "The database is reachable" } },
    )
    .get(
      "/metrics",
      async () =>
        new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }),
      { response: openAnswers({ 200: MetricsTextSchema }), detail: { summary: "Prometheus metrics" } },
    );
}
