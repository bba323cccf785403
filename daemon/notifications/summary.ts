/**
 * What a notification says, built once per delivery from the database: the webhook's JSON body,
 * and what the e-mail's text and HTML parts are rendered from. Secret values are masked in every
 * string (the project's secrets with their encoded forms, as the runner masks logs).
 */
import { asc, eq } from "drizzle-orm";
import type { Sql } from "postgres";
import { Masker } from "../../runner/secrets/masker.ts";
import { jobs, projects, secrets, users, workflowRuns, type NotificationSubject } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { Job } from "../jobs/store.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import { resolveSecrets } from "../secrets/store.ts";
import type { LogArchive } from "../storage/log-archive.ts";
import { readWholeJobLog } from "../storage/job-logs.ts";
import { branchOfJob, branchOfRun, eventOfJob, isFailed } from "./ended.ts";
import { jobLink, projectLink, runLink } from "./links.ts";

/** Lines of a failed job's log that a notification carries, and the longest a line may be. */
export const LOG_TAIL_LINES = 20;
const LOG_LINE_MAX = 500;

export interface JobSummary {
  id: string;
  name: string;
  status: string;
  exit_code: number | null;
  reason: string | null;
  duration_seconds: number | null;
  url: string;
  /** The last lines of the log, for failed jobs only. */
  log_tail?: string[];
}

/** The webhook body (minus `delivery_id` and `text`, added when sent). */
export interface RunSummary {
  event: "workflow_run.ended" | "job.ended" | "test";
  status: string;
  /** The first success after a failure on the same branch and workflow. */
  fixed: boolean;
  project: { id: string; name: string };
  run: {
    kind: NotificationSubject;
    id: string;
    name: string;
    status: string;
    event: string | null;
    branch: string | null;
    commit: string | null;
    actor: string | null;
    created_at: string | null;
    finished_at: string | null;
    duration_seconds: number | null;
    url: string;
  };
  jobs: JobSummary[];
  links: { run: string; project: string };
}

export interface SummaryDeps {
  db: Db;
  sql: Sql;
  archive: LogArchive;
  keys: readonly MasterKey[];
  publicUrl: string;
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
const seconds = (from: Date | null | undefined, to: Date | null | undefined) =>
  from && to ? Math.max(0, Math.round((to.getTime() - from.getTime()) / 100) / 10) : null;

async function userName(db: Db, id: string | null): Promise<string | null> {
  if (!id) return null;
  const [row] = await db.select({ name: users.name }).from(users).where(eq(users.id, id)).limit(1);
  return row?.name ?? null;
}

async function logTail(deps: SummaryDeps, job: Job): Promise<string[]> {
  const after = Math.max(0, job.logLines - LOG_TAIL_LINES);
  const lines = await readWholeJobLog(deps.sql, deps.archive, job.id, after, true);
  return lines.slice(-LOG_TAIL_LINES).map((l) => (l.line.length > LOG_LINE_MAX ? `${l.line.slice(0, LOG_LINE_MAX)}…` : l.line));
}

async function jobSummary(deps: SummaryDeps, job: Job): Promise<JobSummary> {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    exit_code: job.exitCode,
    reason: job.reason,
    duration_seconds: seconds(job.startedAt, job.finishedAt),
    url: jobLink(deps.publicUrl, job.id),
    ...(isFailed(job.status) && { log_tail: await logTail(deps, job) }),
  };
}

/** A masker for every secret of the project: a value that slipped into a name, a reason or a log is never sent. */
async function projectMasker(deps: SummaryDeps, projectId: string): Promise<Masker> {
  const keys = await deps.db.select({ key: secrets.key }).from(secrets).where(eq(secrets.projectId, projectId));
  const values = await resolveSecrets(deps.db, deps.keys, projectId, keys.map((k) => k.key));
  const masker = new Masker();
  masker.register(Object.values(values));
  return masker;
}

function maskDeep<T>(value: T, masker: Masker): T {
  if (typeof value === "string") return masker.mask(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, masker)) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, masker)])) as T;
  }
  return value;
}

/** The summary of a workflow run or a job, or undefined when it no longer exists. */
export async function buildSummary(deps: SummaryDeps, subject: "workflow_run" | "job", id: string, fixed: boolean): Promise<RunSummary | undefined> {
  let summary: RunSummary;
  if (subject === "workflow_run") {
    const [run] = await deps.db.select().from(workflowRuns).where(eq(workflowRuns.id, id)).limit(1);
    if (!run) return undefined;
    const [project] = await deps.db.select().from(projects).where(eq(projects.id, run.projectId)).limit(1);
    const runJobs = await deps.db.select().from(jobs).where(eq(jobs.workflowRunId, id)).orderBy(asc(jobs.createdAt), asc(jobs.id));
    const url = runLink(deps.publicUrl, run.id);
    summary = {
      event: "workflow_run.ended",
      status: run.status,
      fixed,
      project: { id: run.projectId, name: project?.name ?? run.projectId },
      run: {
        kind: "workflow_run",
        id: run.id,
        name: run.name,
        status: run.status,
        event: run.event,
        branch: branchOfRun(run),
        commit: run.commitSha,
        actor: await userName(deps.db, run.triggeredBy),
        created_at: iso(run.createdAt),
        finished_at: iso(run.finishedAt),
        duration_seconds: seconds(run.createdAt, run.finishedAt),
        url,
      },
      jobs: await Promise.all(runJobs.map((j) => jobSummary(deps, j))),
      links: { run: url, project: projectLink(deps.publicUrl, project?.name ?? run.projectId) },
    };
  } else {
    const [job] = await deps.db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
    if (!job) return undefined;
    const [project] = await deps.db.select().from(projects).where(eq(projects.id, job.projectId)).limit(1);
    const url = jobLink(deps.publicUrl, job.id);
    summary = {
      event: "job.ended",
      status: job.status,
      fixed,
      project: { id: job.projectId, name: project?.name ?? job.projectId },
      run: {
        kind: "job",
        id: job.id,
        name: job.name,
        status: job.status,
        event: eventOfJob(job),
        branch: branchOfJob(job),
        commit: job.env.REACTORCIDE_SHA || null,
        actor: job.env.REACTORCIDE_ACTOR || (await userName(deps.db, job.submittedBy)),
        created_at: iso(job.createdAt),
        finished_at: iso(job.finishedAt),
        duration_seconds: seconds(job.startedAt, job.finishedAt),
        url,
      },
      jobs: [await jobSummary(deps, job)],
      links: { run: url, project: projectLink(deps.publicUrl, project?.name ?? job.projectId) },
    };
  }
  return maskDeep(summary, await projectMasker(deps, summary.project.id));
}

/** A sample for `POST .../notifications/{id}/test`: a failed run with one failed job, so every part shows. */
export function sampleSummary(publicUrl: string, project: { id: string; name: string }, id: string, actor: string): RunSummary {
  const now = new Date();
  const started = new Date(now.getTime() - 42_000);
  const url = runLink(publicUrl, id);
  return {
    event: "test",
    status: "failure",
    fixed: false,
    project,
    run: {
      kind: "test",
      id,
      name: "notification-test",
      status: "failure",
      event: "push",
      branch: "main",
      commit: "0000000000000000000000000000000000000000",
      actor,
      created_at: started.toISOString(),
      finished_at: now.toISOString(),
      duration_seconds: 42,
      url,
    },
    jobs: [
      { id, name: "build", status: "success", exit_code: 0, reason: null, duration_seconds: 30, url: jobLink(publicUrl, id) },
      {
        id,
        name: "test",
        status: "failure",
        exit_code: 1,
        reason: "exit code 1",
        duration_seconds: 12,
        url: jobLink(publicUrl, id),
        log_tail: ["This is a test notification from Reactorcide; no job ran.", "expected 2, got 3"],
      },
    ],
    links: { run: url, project: projectLink(publicUrl, project.name) },
  };
}
