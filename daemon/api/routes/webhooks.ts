import { and, desc, eq } from "drizzle-orm";
import { t } from "elysia";
import { webhookDeliveries } from "../../../schema/app/index.ts";
import type { Forge } from "../../vcs/forge.ts";
import { FORGES } from "../../vcs/forges.ts";
import { receiveDelivery, webhookReceiver } from "../../vcs/receive.ts";
import { redeliver } from "../../vcs/redeliver.ts";
import { requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { notFound, uuidOr404 } from "../errors.ts";
import { queryInt } from "../job-schemas.ts";
import { router } from "../router.ts";
import { WebhookDeliveryListSchema, WebhookDeliverySchema, WebhookReceivedSchema, type WebhookDeliveryView } from "../../../runner/protocol/index.ts";
import { answers, openAnswers } from "../responses.ts";

type Delivery = typeof webhookDeliveries.$inferSelect;

export function deliveryView(d: Delivery): WebhookDeliveryView {
  const mapped = d.mapped as { event?: string; sha?: string; branch?: string; tag?: string; prNumber?: number } | null;
  return {
    id: d.id,
    provider: d.provider,
    delivery_id: d.deliveryId,
    event: d.event,
    action: d.action,
    payload_sha256: d.payloadSha256,
    status: d.status,
    outcome: d.outcome,
    reason: d.reason,
    mapped_event: mapped?.event ?? null,
    sha: mapped?.sha ?? null,
    branch: mapped?.branch ?? null,
    tag: mapped?.tag ?? null,
    pr_number: mapped?.prNumber ?? null,
    eval_job_id: d.evalJobId,
    attempts: d.attempts,
    received_at: d.receivedAt.toISOString(),
    processed_at: d.processedAt?.toISOString() ?? null,
  };
}

/** POST /api/v1/webhooks/{github,gitlab}: no API token; the forge's signature or token is the credential. */
export function webhookRoutes(deps: AppDeps) {
  const receiver = webhookReceiver(deps.db, [deps.key, ...(deps.oldKeys ?? [])]);
  const hook = (forge: Forge) => async ({ request, body, query, set }: { request: Request; body: unknown; query: Record<string, string | undefined>; set: { status?: number | string } }) => {
    const raw = body instanceof Uint8Array ? body : new Uint8Array();
    const received = await receiveDelivery(receiver, forge, { headers: request.headers, raw, projectRef: query.project || undefined });
    if (received.pending) deps.vcs?.deliveryRecorded();
    set.status = received.status;
    return received.body;
  };
  return router("/api/v1/webhooks")
    .post("/github", hook(FORGES.github), { response: openAnswers({ 200: WebhookReceivedSchema, 202: WebhookReceivedSchema }, 401, 404), detail: { summary: "GitHub webhook (X-Hub-Signature-256 under the project's webhook_secret); JSON or form-encoded payload=" } })
    .post("/gitlab", hook(FORGES.gitlab), { response: openAnswers({ 200: WebhookReceivedSchema, 202: WebhookReceivedSchema }, 401, 404), detail: { summary: "GitLab webhook (X-Gitlab-Token is the project's webhook_secret)" } });
}

export function deliveryRoutes(deps: AppDeps) {
  const { db } = deps;
  return router("/api/v1/projects")
    .get(
      "/:id/deliveries",
      async ({ params, query, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const limit = queryInt(query.limit, "limit", 1, 200, 50);
        const offset = queryInt(query.offset, "offset", 0, 1_000_000, 0);
        const rows = await db
          .select()
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.projectId, project.id))
          .orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id))
          .limit(limit)
          .offset(offset);
        return { deliveries: rows.map(deliveryView) };
      },
      { query: t.Object({ limit: t.Optional(t.String()), offset: t.Optional(t.String()) }, { additionalProperties: false }), response: answers({ 200: WebhookDeliveryListSchema }, 404), detail: { summary: "Recent webhook deliveries and their outcomes (admin role)" } },
    )
    .post(
      "/:id/deliveries/:delivery/redeliver",
      async ({ params, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const id = uuidOr404(params.delivery, "delivery");
        const [row] = await db
          .select()
          .from(webhookDeliveries)
          .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.projectId, project.id)))
          .limit(1);
        if (!row) throw notFound("delivery");
        const updated = await redeliver(db, row, project);
        if (updated.status === "received") deps.vcs?.deliveryRecorded();
        await audit(db, me, "delivery.redeliver", "project", project.id, { delivery: row.id });
        set.status = 202;
        return deliveryView(updated);
      },
      { response: answers({ 202: WebhookDeliverySchema }, 404), detail: { summary: "Process a recorded delivery again, under the project's settings of now (admin role)" } },
    );
}
