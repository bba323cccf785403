import { and, eq, inArray } from "drizzle-orm";
import { forkPrDecisions, projects, secrets, webhookDeliveries } from "../../schema/app/index.ts";
import type { Job } from "../jobs/store.ts";
import type { EventRunsPlan, ForkPrContext } from "../workflows/engine.ts";
import type { Tx } from "../workflows/events.ts";
import { eventEnv } from "./eval-job.ts";
import type { VcsEvent } from "./event.ts";

export const NEVER_REASON = "fork pull requests do not run in this project (fork_pr_policy: never)";

/** What a fork pull request's runs are bound to (an approval holds for exactly these). */
export function forkPrContext(event: VcsEvent): ForkPrContext | undefined {
  if (!event.isFork || event.prNumber === undefined) return undefined;
  return {
    prNumber: event.prNumber,
    headSha: event.sha,
    baseSha: event.baseSha ?? "",
    headRepoUrl: event.headRepoUrl,
    author: event.author ?? event.actor ?? null,
    maintainer: event.maintainer === true,
  };
}

/**
 * The workflow engine's question "is this job an event's eval job?" (WorkflowEngineDeps.eventRuns).
 * Its runs get the event's env and sources. An event from the project's own repository lets its
 * jobs name any of the project's secrets. A fork's pull request (#14) runs untrusted, by the
 * project's fork_pr_policy: `approval` makes its runs wait for a person (unless the author is a
 * trusted maintainer), and only an approved run's jobs may get the project's fork_pr_secrets;
 * `always` runs at once without secrets; `never` (normally stopped before eval) declines them.
 */
export async function evalRunsPlan(tx: Tx, parent: Job): Promise<EventRunsPlan | undefined> {
  const [delivery] = await tx.select({ mapped: webhookDeliveries.mapped }).from(webhookDeliveries).where(eq(webhookDeliveries.evalJobId, parent.id)).limit(1);
  if (!delivery?.mapped) return undefined;
  const event = delivery.mapped as unknown as VcsEvent;
  const common = {
    eventEnv: eventEnv(event),
    event: event.event,
    ...(event.branch ?? event.tag ? { branch: event.branch ?? event.tag } : {}),
    sha: event.sha,
    source: parent.source,
    ciSource: parent.ciSource,
  };
  const projectSecrets = async (names?: string[]) => {
    const where = names ? and(eq(secrets.projectId, parent.projectId), inArray(secrets.key, names)) : eq(secrets.projectId, parent.projectId);
    return names?.length === 0 ? [] : [...new Set((await tx.select({ key: secrets.key }).from(secrets).where(where)).map((r) => r.key))];
  };
  const forkPr = forkPrContext(event);
  if (!event.isFork) return { ...common, untrusted: false, allowedSecrets: await projectSecrets() };
  const [project] = await tx.select().from(projects).where(eq(projects.id, parent.projectId));
  const network = project?.forkPrNetwork === "none" ? ("none" as const) : undefined;
  const fork = { ...common, untrusted: true, ...(forkPr ? { forkPr } : {}), ...(network ? { network } : {}) };
  if (!project || project.forkPrPolicy === "never") return { ...fork, allowedSecrets: [], approval: { state: "declined", reason: NEVER_REASON } };
  const [decided] = forkPr
    ? await tx
        .select()
        .from(forkPrDecisions)
        .where(
          and(
            eq(forkPrDecisions.projectId, project.id),
            eq(forkPrDecisions.prNumber, forkPr.prNumber),
            eq(forkPrDecisions.headSha, forkPr.headSha),
            eq(forkPrDecisions.baseSha, forkPr.baseSha),
          ),
        )
    : [];
  if (decided?.decision === "declined") return { ...fork, allowedSecrets: [], approval: { state: "declined", reason: `declined by ${decided.decidedBy}` } };
  if (decided?.decision === "approved") return { ...fork, allowedSecrets: await projectSecrets(project.forkPrSecrets), approval: { state: "approved" } };
  // Runs that start without a person's approval get no secrets.
  if (project.forkPrPolicy === "always" || (project.forkPrTrustMaintainers && forkPr?.maintainer)) return { ...fork, allowedSecrets: [], approval: { state: "none" } };
  return { ...fork, allowedSecrets: await projectSecrets(project.forkPrSecrets), approval: { state: "awaiting" } };
}
