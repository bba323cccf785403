/** /api/v1/projects/{id}/notifications: rules that send e-mail or a webhook when runs or jobs end. */
import { Type, type Static } from "@sinclair/typebox";
import { isoTime, literalUnion, Nullable, uuid } from "../schema-parts.ts";
import { WORKFLOW_EVENTS } from "../workflow-spec.ts";

/** When a rule fires: `fixed` is the first success after a failure on the same branch and workflow. */
export const NOTIFY_ON = ["failure", "always", "fixed", "success"] as const;
export type NotifyOn = (typeof NOTIFY_ON)[number];
export const NOTIFICATION_TARGET_TYPES = ["email", "webhook"] as const;
export type NotificationTargetType = (typeof NOTIFICATION_TARGET_TYPES)[number];
export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** What a delivery reports on: a workflow run, a job that ended on its own, or a sample (`test`). */
export const NOTIFICATION_SUBJECTS = ["workflow_run", "job", "test"] as const;
export type NotificationSubject = (typeof NOTIFICATION_SUBJECTS)[number];
/** The event name a run without one counts as (started through the API or the CLI). */
export const MANUAL_EVENT = "manual";
export const NOTIFICATION_EVENTS = [...WORKFLOW_EVENTS, MANUAL_EVENT] as const;
/**
 * One plain address (`name@example.com`): no display name, no line breaks or commas that would add
 * recipients or headers.
 */
export const EMAIL_PATTERN = "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$";

/** The target as submitted; which fields go with which type is checked by the route, naming the field. */
export const NotificationTargetInputSchema = Type.Object(
  {
    type: literalUnion(NOTIFICATION_TARGET_TYPES),
    to: Type.Optional(
      Type.Array(Type.String({ pattern: EMAIL_PATTERN, maxLength: 254, description: "a plain e-mail address (name@example.com)" }), { minItems: 1, maxItems: 50 }),
    ),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    secret: Type.Optional(Type.String({ minLength: 8, maxLength: 500, description: "signs the body (HMAC-SHA256); stored encrypted, never returned" })),
  },
  { additionalProperties: false },
);
export type NotificationTargetInput = Static<typeof NotificationTargetInputSchema>;

/** POST /api/v1/projects/{id}/notifications. */
export const NotificationRuleCreateSchema = Type.Object(
  {
    on: Type.Optional(literalUnion(NOTIFY_ON)),
    jobs: Type.Optional(Type.Boolean({ description: "also jobs that end on their own (outside a workflow run)" })),
    branches: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 250, pattern: "^[^\\s\\u0000]+$", description: "a branch glob without spaces" }), { maxItems: 50 })),
    events: Type.Optional(Type.Array(literalUnion(NOTIFICATION_EVENTS), { maxItems: 20 })),
    target: NotificationTargetInputSchema,
  },
  { additionalProperties: false },
);
export type NotificationRuleCreate = Static<typeof NotificationRuleCreateSchema>;

export const NotificationDeliverySchema = Type.Object(
  {
    id: uuid("the delivery id the receiver sees (X-Reactorcide-Delivery)"),
    subject: literalUnion(NOTIFICATION_SUBJECTS),
    subject_id: uuid("the run's or job's id"),
    status: Type.String({ description: "what the subject ended as" }),
    fixed: Type.Boolean(),
    state: literalUnion(DELIVERY_STATUSES),
    attempts: Type.Integer({ minimum: 0 }),
    last_error: Nullable(Type.String()),
    created_at: Nullable(isoTime("recorded")),
    delivered_at: Nullable(isoTime("delivered")),
    next_attempt_at: Nullable(isoTime("the next try, while pending")),
  },
  { additionalProperties: false },
);
export type NotificationDeliveryView = Static<typeof NotificationDeliverySchema>;

/** A rule as the API returns it: never the webhook's secret, and of its URL only the origin. */
export const NotificationRuleSchema = Type.Object(
  {
    id: uuid("the rule's id"),
    on: literalUnion(NOTIFY_ON),
    jobs: Type.Boolean(),
    branches: Type.Array(Type.String()),
    events: Type.Array(Type.String()),
    target: Type.Union([
      Type.Object({ type: Type.Literal("email"), to: Type.Array(Type.String()) }, { additionalProperties: false }),
      Type.Object({ type: Type.Literal("webhook"), url: Type.String({ description: "the origin only, then …" }), has_secret: Type.Boolean() }, { additionalProperties: false }),
    ]),
    created_at: isoTime("created"),
    last_deliveries: Type.Array(NotificationDeliverySchema),
    failing: Type.Boolean({ description: "the newest delivery failed for good or waits to be retried after an error" }),
  },
  { additionalProperties: false },
);
export type NotificationRuleView = Static<typeof NotificationRuleSchema>;
export const NotificationRuleListSchema = Type.Object({ notifications: Type.Array(NotificationRuleSchema) }, { additionalProperties: false });
export const NotificationRuleDeletedSchema = Type.Object({ id: uuid("the deleted rule"), deleted: Type.Literal(true) }, { additionalProperties: false });
/** POST …/notifications/{rule}/test: 200 delivered, 202 failed once and left to the outbox. */
export const NotificationTestSchema = Type.Object(
  { delivery_id: uuid("the sample's delivery id"), state: literalUnion(DELIVERY_STATUSES), error: Nullable(Type.String()) },
  { additionalProperties: false },
);
export type NotificationTestResult = Static<typeof NotificationTestSchema>;
