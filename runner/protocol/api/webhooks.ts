/** /api/v1/webhooks/{github,gitlab} (the forge's signature is the credential) and a project's recorded deliveries. */
import { Type, type Static } from "@sinclair/typebox";
import { isoTime, Nullable, uuid } from "../schema-parts.ts";

/** The answer to a forge's POST: 202 when the delivery waits to be processed, 200 when nothing more happens. */
export const WebhookReceivedSchema = Type.Object(
  {
    id: Type.String({ description: "the recorded delivery's id" }),
    delivery_id: Type.String({ description: "the forge's delivery id" }),
    duplicate: Type.Boolean({ description: "this delivery id was received before; nothing new starts" }),
    status: Type.String({ description: "received (to be processed) or processed" }),
    outcome: Nullable(Type.String({ description: "accepted, ignored, filtered or error" })),
    event: Type.Optional(Type.String({ description: "the event it maps to (push, pull_request_opened, …)" })),
    reason: Type.Optional(Nullable(Type.String())),
  },
  { additionalProperties: false },
);
export type WebhookReceived = Static<typeof WebhookReceivedSchema>;

/** A recorded delivery as GET /api/v1/projects/{id}/deliveries lists it. */
export const WebhookDeliverySchema = Type.Object(
  {
    id: uuid("the recorded delivery's id"),
    provider: Type.String(),
    delivery_id: Type.String(),
    event: Type.String({ description: "the forge's event header" }),
    action: Nullable(Type.String()),
    payload_sha256: Nullable(Type.String()),
    status: Type.String({ description: "received or processed" }),
    outcome: Nullable(Type.String({ description: "accepted, ignored, filtered or error" })),
    reason: Nullable(Type.String()),
    mapped_event: Nullable(Type.String()),
    sha: Nullable(Type.String()),
    branch: Nullable(Type.String()),
    tag: Nullable(Type.String()),
    pr_number: Nullable(Type.Integer()),
    eval_job_id: Nullable(Type.String()),
    attempts: Type.Integer({ minimum: 0 }),
    received_at: isoTime("received"),
    processed_at: Nullable(isoTime("processed")),
  },
  { additionalProperties: false },
);
export type WebhookDeliveryView = Static<typeof WebhookDeliverySchema>;
export const WebhookDeliveryListSchema = Type.Object({ deliveries: Type.Array(WebhookDeliverySchema) }, { additionalProperties: false });
