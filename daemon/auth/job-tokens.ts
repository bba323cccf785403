/**
 * Job tokens: handed to a running job (REACTORCIDE_API_TOKEN) so it can ask for follow-up jobs
 * (POST /api/v1/jobs/{id}/triggers) and read its own job, nothing else. One expires at the job's
 * timeout plus a margin and is revoked when the job ends, so a leaked one is short-lived.
 */
import { eq } from "drizzle-orm";
import { apiTokens } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { Job } from "../jobs/store.ts";
import { hashToken, newToken, revokeTokens } from "./tokens.ts";
import { ensureUser } from "./users.ts";

/** The user job tokens belong to (no roles: a job token is checked against its job id only). */
export const JOB_TOKEN_USER = "reactorcide-jobs";
/** Beyond the job's timeout: the worker's grace period and the last trigger POST fit in it. */
export const JOB_TOKEN_MARGIN_SECONDS = 600;

/**
 * The job tokens' user, made once per database and process: its row is never removed, and the
 * upsert that makes sure of it rewrote the row on every job's token.
 */
const jobUsers = new WeakMap<Db, Promise<string>>();
function jobUserId(db: Db): Promise<string> {
  let id = jobUsers.get(db);
  if (!id) {
    id = ensureUser(db, JOB_TOKEN_USER, false).then((user) => user.id);
    jobUsers.set(db, id);
    id.catch(() => jobUsers.delete(db));
  }
  return id;
}

export async function issueJobToken(db: Db, job: Pick<Job, "id" | "name" | "timeoutSeconds" | "startedAt">): Promise<{ token: string; expiresAt: Date }> {
  const userId = await jobUserId(db);
  const token = newToken();
  const from = job.startedAt?.getTime() ?? Date.now();
  const expiresAt = new Date(from + (job.timeoutSeconds + JOB_TOKEN_MARGIN_SECONDS) * 1000);
  try {
    await db.insert(apiTokens).values({ userId, name: `job ${job.name} (${job.id})`, tokenHash: hashToken(token), scopes: ["job"], jobId: job.id, expiresAt });
  } catch (error) {
    // Whatever failed, the next token makes sure of its user again.
    jobUsers.delete(db);
    throw error;
  }
  return { token, expiresAt };
}

export async function revokeJobTokens(db: Db, jobId: string): Promise<void> {
  await revokeTokens(db, eq(apiTokens.jobId, jobId));
}
