/**
 * `/reactorcide approve` and `/reactorcide decline` on a pull request: honoured only when the
 * forge says the commenter may write to the repository, and then for the pull request's head the
 * commenter could have seen (the newest head we had received before the comment; on GitLab the
 * head the note names). Anyone else's comment is ignored, and the delivery says why.
 */
import { and, desc, eq, isNotNull, lte, sql } from "drizzle-orm";
import { webhookDeliveries } from "../../schema/app/index.ts";
import type { Project } from "../api/access.ts";
import type { Db } from "../db/client.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import { WorkflowConflict, type WorkflowEngine } from "../workflows/engine.ts";
import type { Tx } from "../workflows/events.ts";
import { decideForkPr } from "./approvals.ts";
import type { VcsCommand, VcsEvent } from "./event.ts";
import { FORGES, apiUrlOf } from "./forges.ts";
import { openProjectField } from "./project-secrets.ts";

type Delivery = typeof webhookDeliveries.$inferSelect;

export interface CommandOutcome {
  outcome: "accepted" | "ignored";
  reason: string;
}

/** The pull request's event the command is about: GitLab's named head, else the newest received before the comment. */
async function pullRequestEvent(db: Db, project: Project, row: Delivery, command: VcsCommand): Promise<VcsEvent | undefined> {
  const where = [
    eq(webhookDeliveries.projectId, project.id),
    isNotNull(webhookDeliveries.evalJobId),
    sql`(${webhookDeliveries.mapped}->>'prNumber')::int = ${command.prNumber}`,
    lte(webhookDeliveries.receivedAt, row.receivedAt),
  ];
  if (command.headSha) where.push(sql`${webhookDeliveries.mapped}->>'sha' = ${command.headSha}`);
  const [found] = await db
    .select({ mapped: webhookDeliveries.mapped })
    .from(webhookDeliveries)
    .where(and(...where))
    .orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id))
    .limit(1);
  return found?.mapped as unknown as VcsEvent | undefined;
}

/**
 * Checks and applies one command. `finish` marks the delivery processed inside the decision's
 * transaction, so the decision, its runs, its audit entry and the delivery's outcome commit together.
 * Forge errors other than "no such collaborator" are thrown (the delivery is tried again).
 */
export async function applyCommand(
  deps: { db: Db; keys: readonly MasterKey[]; workflows: WorkflowEngine; log?: (message: string) => void },
  project: Project,
  row: Delivery,
  command: VcsCommand,
  finish: (tx: Tx, outcome: CommandOutcome) => Promise<void>,
): Promise<CommandOutcome | undefined> {
  const who = `${command.provider}:${command.actor}`;
  const pr = await pullRequestEvent(deps.db, project, row, command);
  if (!pr) return { outcome: "ignored", reason: `no event of pull request #${command.prNumber}${command.headSha ? ` at ${command.headSha.slice(0, 12)}` : ""} was received; nothing to ${command.command}` };
  if (!pr.isFork) return { outcome: "ignored", reason: `pull request #${command.prNumber} is not from a fork; nothing waits for approval` };
  // The repository asked is the pull request's own, never the one the comment's payload names.
  if (pr.apiRepo !== command.apiRepo) return { outcome: "ignored", reason: `the comment names repository ${command.apiRepo}, but pull request #${command.prNumber} is on ${pr.apiRepo}` };
  const forge = FORGES[project.vcsProvider as keyof typeof FORGES];
  const token = openProjectField(deps.keys, project, "vcs_token");
  if (!forge || !token) return { outcome: "ignored", reason: `the project has no vcs_token to ask whether ${who} may write to ${pr.apiRepo}; the comment is ignored` };
  const allowed = await forge.canWrite({ apiUrl: apiUrlOf(forge, project.vcsApiUrl), token, repo: pr.apiRepo }, { login: command.actor, id: command.actorId });
  if (!allowed) {
    const reason = `${who} has no write access to ${pr.apiRepo}; their /reactorcide ${command.command} is ignored`;
    deps.log?.(`project ${project.name}: ${reason}`);
    return { outcome: "ignored", reason };
  }
  const decision = command.command === "approve" ? "approved" : "declined";
  try {
    let outcome: CommandOutcome | undefined;
    await decideForkPr(
      deps.workflows,
      { projectId: project.id, prNumber: pr.prNumber!, headSha: pr.sha, baseSha: pr.baseSha ?? "" },
      decision,
      { by: who, via: "comment" },
      { targetType: "pull_request", targetId: `${pr.apiRepo}#${pr.prNumber}` },
      async (tx, runs) => {
        outcome = { outcome: "accepted", reason: `${decision} by ${who} at ${pr.sha.slice(0, 12)} (${runs.length} run${runs.length === 1 ? "" : "s"})` };
        await finish(tx, outcome);
      },
    );
    return outcome;
  } catch (error) {
    if (error instanceof WorkflowConflict) return { outcome: "ignored", reason: error.message };
    throw error;
  }
}
