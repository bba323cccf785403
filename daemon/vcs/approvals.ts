/**
 * Approving or declining a fork pull request (#14): one decision per (project, pull request, head
 * SHA, base SHA), recorded with the runs it starts or ends and its audit entry in one transaction,
 * so a daemon killed at any moment has either all of it or none. The runs' jobs are queued after
 * the commit (a crash in between leaves queued jobs, which the start-up requeue submits); commit
 * statuses follow from the runs' durable events.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { auditLog, forkPrDecisions, workflowRuns, type ForkPrDecision } from "../../schema/app/index.ts";
import { WorkflowConflict, type ForkPrContext, type WorkflowEngine, type WorkflowRun } from "../workflows/engine.ts";
import type { Tx } from "../workflows/events.ts";

export interface ForkPrKey {
  projectId: string;
  prNumber: number;
  headSha: string;
  baseSha: string;
}

export interface Decider {
  /** A user name, or `github:<login>` / `gitlab:<username>` for a comment. */
  by: string;
  via: "api" | "comment";
  userId?: string | null;
  tokenId?: string | null;
}

export interface Decided {
  decision: ForkPrDecision;
  runs: WorkflowRun[];
}

export const keyOf = (projectId: string, fork: ForkPrContext): ForkPrKey => ({ projectId, prNumber: fork.prNumber, headSha: fork.headSha, baseSha: fork.baseSha });

/** The runs waiting for a decision on this key, in id order (the order their row locks are taken). */
async function awaitingRuns(tx: Tx, key: ForkPrKey): Promise<string[]> {
  const rows = await tx
    .select({ id: workflowRuns.id })
    .from(workflowRuns)
    .where(
      and(
        eq(workflowRuns.projectId, key.projectId),
        eq(workflowRuns.status, "awaiting_approval"),
        sql`(${workflowRuns.context}->'forkPr'->>'prNumber')::int = ${key.prNumber}`,
        sql`${workflowRuns.context}->'forkPr'->>'headSha' = ${key.headSha}`,
        sql`${workflowRuns.context}->'forkPr'->>'baseSha' = ${key.baseSha}`,
      ),
    )
    .orderBy(asc(workflowRuns.id));
  return rows.map((r) => r.id);
}

/**
 * Records the decision and applies it to every run waiting on the key: approved runs start,
 * declined ones end `failure` "declined by <who>". A key already decided is a conflict (the first
 * decision holds). Runs made later for the same key (eval still running) follow the decision when
 * they are created (daemon/vcs/eval-runs.ts).
 */
export async function decideForkPr(
  engine: WorkflowEngine,
  key: ForkPrKey,
  decision: ForkPrDecision,
  who: Decider,
  audit: { targetType: string; targetId: string },
  /** More of the caller's rows for the same transaction (the comment's delivery marked processed). */
  within?: (tx: Tx, runs: WorkflowRun[]) => Promise<void>,
): Promise<Decided> {
  return engine.commit(async (tx, created) => {
    const [row] = await tx
      .insert(forkPrDecisions)
      .values({ ...key, decision, decidedBy: who.by, via: who.via, userId: who.userId ?? null })
      .onConflictDoNothing({ target: [forkPrDecisions.projectId, forkPrDecisions.prNumber, forkPrDecisions.headSha, forkPrDecisions.baseSha] })
      .returning();
    if (!row) {
      const [earlier] = await tx
        .select()
        .from(forkPrDecisions)
        .where(and(eq(forkPrDecisions.projectId, key.projectId), eq(forkPrDecisions.prNumber, key.prNumber), eq(forkPrDecisions.headSha, key.headSha), eq(forkPrDecisions.baseSha, key.baseSha)));
      throw new WorkflowConflict(`pull request #${key.prNumber} at ${key.headSha.slice(0, 12)} was already ${earlier?.decision ?? "decided"} by ${earlier?.decidedBy ?? "someone"}`);
    }
    const runs: WorkflowRun[] = [];
    for (const id of await awaitingRuns(tx, key)) {
      runs.push(decision === "approved" ? await engine.approveIn(tx, created, id) : await engine.declineIn(tx, id, `declined by ${who.by}`));
    }
    await tx.insert(auditLog).values({
      userId: who.userId ?? null,
      tokenId: who.tokenId ?? null,
      action: decision === "approved" ? "workflow.approve" : "workflow.decline",
      targetType: audit.targetType,
      targetId: audit.targetId,
      details: { pr_number: key.prNumber, head_sha: key.headSha, base_sha: key.baseSha, by: who.by, via: who.via, runs: runs.map((r) => r.id) },
    });
    await within?.(tx, runs);
    return { decision, runs };
  });
}
