import {
  NotificationRuleCreateSchema,
  NotificationRuleDeletedSchema,
  NotificationRuleListSchema,
  NotificationRuleSchema,
  NotificationTestSchema,
  type NotificationTargetInput,
} from "../../../runner/protocol/index.ts";
import { answers } from "../responses.ts";
import { createRule, deleteRule, getRule, listRules, recentDeliveries, type TargetInput } from "../../notifications/rules.ts";
import { ruleView } from "../../notifications/view.ts";
import { webhookUrlProblem } from "../../notifications/targets.ts";
import { requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { badRequest, notFound, uuidOr404 } from "../errors.ts";
import { router } from "../router.ts";

/** The target's fields that go with its type, each problem naming its field. */
function checkTarget(target: NotificationTargetInput): TargetInput {
  if (target.type === "email") {
    if (!target.to) throw badRequest("target.to: is required for an email target: a list of addresses", "target.to");
    for (const field of ["url", "secret"] as const) {
      if (target[field] !== undefined) throw badRequest(`target.${field}: is for webhook targets only`, `target.${field}`);
    }
    return { type: "email", to: [...new Set(target.to.map((a) => a.toLowerCase()))] };
  }
  if (target.to !== undefined) throw badRequest("target.to: is for email targets only", "target.to");
  if (!target.url) throw badRequest("target.url: is required for a webhook target: an https:// URL", "target.url");
  const problem = webhookUrlProblem(target.url);
  if (problem) throw badRequest(`target.url: ${problem}`, "target.url");
  return { type: "webhook", url: target.url, secret: target.secret };
}

export function notificationRoutes(deps: AppDeps) {
  const { db } = deps;
  return router("/api/v1/projects")
    .post(
      "/:id/notifications",
      async ({ params, body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const target = checkTarget(body.target);
        const rule = await createRule(db, deps.key, project.id, me.userId, {
          on: body.on ?? "failure",
          jobs: body.jobs ?? false,
          branches: body.branches ?? [],
          events: body.events ?? [],
          target,
        });
        await audit(db, me, "notification.create", "project", project.id, { rule: rule.id, target: target.type, on: rule.on });
        set.status = 201;
        return ruleView(rule);
      },
      { body: NotificationRuleCreateSchema, response: answers({ 201: NotificationRuleSchema }, 404), detail: { summary: "Add a notification rule (admin role): e-mail or webhook when runs or jobs end" } },
    )
    .get(
      "/:id/notifications",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const rules = await listRules(db, project.id);
        const deliveries = await recentDeliveries(db, rules.map((r) => r.id));
        return { notifications: rules.map((r) => ruleView(r, deliveries.get(r.id))) };
      },
      { response: answers({ 200: NotificationRuleListSchema }, 404), detail: { summary: "The project's notification rules with their last deliveries (admin role); secrets never shown" } },
    )
    .delete(
      "/:id/notifications/:rule",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const id = uuidOr404(params.rule, "notification rule");
        if (!(await deleteRule(db, project.id, id))) throw notFound("notification rule");
        await audit(db, me, "notification.delete", "project", project.id, { rule: id });
        return { id, deleted: true as const };
      },
      { response: answers({ 200: NotificationRuleDeletedSchema }, 404), detail: { summary: "Delete a notification rule and its pending deliveries (admin role)" } },
    )
    .post(
      "/:id/notifications/:rule/test",
      async ({ params, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const rule = await getRule(db, project.id, uuidOr404(params.rule, "notification rule"));
        if (!rule) throw notFound("notification rule");
        const attempt = await deps.notifier.sendTest(rule, { id: project.id, name: project.name }, me.userName);
        await audit(db, me, "notification.test", "project", project.id, { rule: rule.id, delivery: attempt.delivery.id, state: attempt.state });
        // 200 when it arrived; 202 when the first attempt failed and the outbox keeps trying.
        set.status = attempt.state === "delivered" ? 200 : 202;
        return { delivery_id: attempt.delivery.id, state: attempt.state, error: attempt.error ?? null };
      },
      { response: answers({ 200: NotificationTestSchema, 202: NotificationTestSchema }, 404), detail: { summary: "Send a sample notification through the rule now (admin role); retried like any delivery if it fails" } },
    );
}
