/** Writing to the VCS outbox (schema/app/vcs.ts vcs_reports); reporter.ts sends it. */
import { sql } from "drizzle-orm";
import { vcsReports } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { CommitStatus } from "./forge.ts";

/** GitHub refuses longer descriptions; GitLab takes them but shows the same. */
export const MAX_DESCRIPTION = 140;

export function shortDescription(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length <= MAX_DESCRIPTION ? one : `${one.slice(0, MAX_DESCRIPTION - 1)}…`;
}

/** The summary comment says it is ours with this, so a comment made before a crash is found and edited. */
export const SUMMARY_MARKER = "<!-- reactorcide:summary -->";

export interface CommentPayload {
  pr: number;
  body: string;
  /** Forge API repository (owner/repo, or GitLab's project id). */
  repo: string;
  [key: string]: unknown;
}

export interface StatusPayload extends CommitStatus {
  repo: string;
  [key: string]: unknown;
}

type Executor = Pick<Db, "insert">;

/**
 * The latest state for one target: a new row, or the row's payload replaced and its version bumped
 * (only when it changed). A backoff in progress (the forge down, or Retry-After) still holds; a
 * row given up on is tried again.
 */
async function upsert(db: Executor, projectId: string, kind: "status" | "comment", target: string, payload: Record<string, unknown>): Promise<void> {
  await db
    .insert(vcsReports)
    .values({ projectId, kind, target, payload })
    .onConflictDoUpdate({
      target: [vcsReports.projectId, vcsReports.kind, vcsReports.target],
      set: {
        payload: sql`excluded.payload`,
        version: sql`${vcsReports.version} + 1`,
        failedAt: null,
        updatedAt: sql`now()`,
      },
      setWhere: sql`${vcsReports.payload} is distinct from excluded.payload`,
    });
}

export function setCommitStatus(db: Executor, projectId: string, repo: string, status: CommitStatus): Promise<void> {
  const payload: StatusPayload = { ...status, repo, description: shortDescription(status.description) };
  return upsert(db, projectId, "status", `${status.sha}/${status.context}`, payload);
}

export function setSummaryComment(db: Executor, projectId: string, repo: string, pr: number, body: string): Promise<void> {
  const payload: CommentPayload = { pr, repo, body: body.includes(SUMMARY_MARKER) ? body : `${SUMMARY_MARKER}\n${body}` };
  return upsert(db, projectId, "comment", `${repo}#${pr}`, payload);
}
