/** Rules and deliveries as the API shows them (the dashboard takes its types from here). */
import type { NotificationDeliveryView, NotificationRuleView } from "../../runner/protocol/index.ts";
import type { Delivery, Rule } from "./rules.ts";

export function deliveryView(d: Delivery): NotificationDeliveryView {
  const iso = (x: Date | null) => x?.toISOString() ?? null;
  return {
    id: d.id,
    subject: d.subject,
    subject_id: d.subjectId,
    status: d.status,
    fixed: d.fixed,
    state: d.state,
    attempts: d.attempts,
    last_error: d.lastError,
    created_at: iso(d.createdAt),
    delivered_at: iso(d.deliveredAt),
    next_attempt_at: d.state === "pending" ? iso(d.nextAttemptAt) : null,
  };
}

/** A rule as the API shows it: never the webhook's secret, and of its URL only the origin. */
export function ruleView(r: Rule, deliveries: Delivery[] = []): NotificationRuleView {
  const target =
    r.target.type === "email"
      ? { type: "email" as const, to: r.target.to }
      : { type: "webhook" as const, url: `${r.target.origin}/…`, has_secret: r.target.signed };
  return {
    id: r.id,
    on: r.on,
    jobs: r.jobs,
    branches: r.branches,
    events: r.events,
    target,
    created_at: r.createdAt.toISOString(),
    last_deliveries: deliveries.map(deliveryView),
    // The newest delivery failed for good, or is waiting to be tried again: what someone should look at.
    failing: deliveries[0] !== undefined && (deliveries[0].state === "failed" || (deliveries[0].state === "pending" && deliveries[0].lastError !== null)),
  };
}

