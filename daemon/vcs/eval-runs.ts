import { eq } from "drizzle-orm";
import { secrets, webhookDeliveries } from "../../schema/app/index.ts";
import type { Job } from "../jobs/store.ts";
import type { EventRunsPlan } from "../workflows/engine.ts";
import type { Tx } from "../workflows/events.ts";
import { eventEnv } from "./eval-job.ts";
import type { VcsEvent } from "./event.ts";

/**
 * The workflow engine's question "is this job an event's eval job?" (WorkflowEngineDeps.eventRuns).
 * Its runs get the event's env and sources; an event from the project's own repository lets its
 * jobs name any of the project's secrets, a fork's pull request none, and its runs are untrusted
 * (until the fork pull request policy decides more).
 */
export async function evalRunsPlan(tx: Tx, parent: Job): Promise<EventRunsPlan | undefined> {
  const [delivery] = await tx.select({ mapped: webhookDeliveries.mapped }).from(webhookDeliveries).where(eq(webhookDeliveries.evalJobId, parent.id)).limit(1);
  if (!delivery?.mapped) return undefined;
  const event = delivery.mapped as unknown as VcsEvent;
  const allowed = event.isFork ? [] : (await tx.select({ key: secrets.key }).from(secrets).where(eq(secrets.projectId, parent.projectId))).map((r) => r.key);
  return {
    eventEnv: eventEnv(event),
    event: event.event,
    ...(event.branch ?? event.tag ? { branch: event.branch ?? event.tag } : {}),
    sha: event.sha,
    source: parent.source,
    ciSource: parent.ciSource,
    untrusted: event.isFork,
    allowedSecrets: [...new Set(allowed)],
  };
}
