/**
 * Runs awaiting approval across the projects a user may read, with the user's role on each, in
 * one query (the dashboard's Approvals page reads it every few seconds): runs, their project's
 * name and the caller's membership joined, the status index picking the few waiting runs.
 */
import { and, asc, eq, isNotNull, sql } from "drizzle-orm";
import { roleAtLeast, type AwaitingApprovalView } from "../../runner/protocol/index.ts";
import { projectMembers, projects, workflowRuns, type ProjectRole } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { ForkPrContext } from "./engine.ts";

export interface AwaitingFilter {
  /** Only this project's runs. */
  projectId?: string;
  limit: number;
  offset: number;
}

/** Oldest waiting first; an administrator sees every project's, as admin. */
export async function listAwaitingApproval(db: Db, who: { userId: string; isAdmin: boolean }, filter: AwaitingFilter): Promise<AwaitingApprovalView[]> {
  const rows = await db
    .select({
      id: workflowRuns.id,
      name: workflowRuns.name,
      projectId: workflowRuns.projectId,
      projectName: projects.name,
      event: workflowRuns.event,
      ref: workflowRuns.ref,
      sha: workflowRuns.commitSha,
      // Only the part of the context the list shows (the rest holds every job's env).
      forkPr: sql<ForkPrContext | null>`${workflowRuns.context} -> 'forkPr'`,
      createdAt: workflowRuns.createdAt,
      role: projectMembers.role,
    })
    .from(workflowRuns)
    .innerJoin(projects, eq(projects.id, workflowRuns.projectId))
    .leftJoin(projectMembers, and(eq(projectMembers.projectId, workflowRuns.projectId), eq(projectMembers.userId, who.userId)))
    .where(and(eq(workflowRuns.status, "awaiting_approval"), who.isAdmin ? undefined : isNotNull(projectMembers.role), filter.projectId ? eq(workflowRuns.projectId, filter.projectId) : undefined))
    .orderBy(asc(workflowRuns.createdAt), asc(workflowRuns.id))
    .limit(filter.limit)
    .offset(filter.offset);
  return rows.map((r) => {
    const role: ProjectRole = who.isAdmin ? "admin" : r.role!;
    const f = r.forkPr;
    return {
      run_id: r.id,
      run_name: r.name,
      project_id: r.projectId,
      project_name: r.projectName,
      event: r.event,
      ref: r.ref,
      sha: r.sha,
      fork_pr: f ? { pr_number: f.prNumber, head_repo_url: f.headRepoUrl, head_sha: f.headSha, base_sha: f.baseSha, author: f.author, maintainer: f.maintainer } : null,
      waiting_since: r.createdAt.toISOString(),
      role,
      // The rule the approve and decline routes apply (requireProjectRole … "write").
      may_approve: roleAtLeast(role, "write"),
    };
  });
}
