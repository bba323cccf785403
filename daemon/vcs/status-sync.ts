/**
 * Keeps the VCS in step with the jobs an event started: `reactorcide/eval` for the eval job, one
 * `reactorcide/<workflow>` per workflow run it started, and for a pull request the summary
 * comment. Driven by events, not by polling: the job service's durable "job ended", the workflow
 * engine's durable run events, and the in-process job changes (daemon/jobs/events.ts, for
 * "running"). Everything is derived from the database, so a repeated event changes nothing and
 * `reconcile` at start catches up on the rest.
 */
import { eq, sql } from "drizzle-orm";
import { jobs, webhookDeliveries } from "../../schema/app/index.ts";
import type { JobStatus } from "../../runner/protocol/index.ts";
import type { Db } from "../db/client.ts";
import { jobEvents } from "../jobs/events.ts";
import type { WorkflowEvents } from "../workflows/events.ts";
import type { JobEventBus } from "../jobs/outbox.ts";
import type { Job } from "../jobs/store.ts";
import { jobUrl } from "./deliveries.ts";
import { EVAL_CONTEXT } from "./eval-job.ts";
import { problemsDescription, type EvalProblemReader } from "./eval-problems.ts";
import type { VcsEvent } from "./event.ts";
import type { ReportState } from "./forge.ts";
import { setCommitStatus, setSummaryComment } from "./reports.ts";
import { renderSummary, type SummaryGroup, type SummaryJob } from "./summary.ts";

type RunRow = {
  run_id: string;
  run_name: string;
  run_status: string;
  run_reason: string | null;
  node: string;
  node_status: string;
  job_id: string | null;
  job_status: JobStatus | null;
  started_at: Date | null;
  finished_at: Date | null;
};

/** A job's state while it exists; a run's states come from runState. */
export function jobState(status: JobStatus): ReportState {
  if (status === "queued") return "pending";
  if (status === "running") return "running";
  if (status === "timed_out") return "failure";
  return status;
}

export interface StatusSyncOptions {
  db: Db;
  /** The problems an ended eval job found in the CI definitions (from its log), shown on the status and the summary. */
  problems?: EvalProblemReader;
  publicUrl?: string;
  onReports?: () => void;
  log?: (message: string) => void;
}

export class StatusSync {
  private unsubscribe: (() => void) | undefined;
  private stopRuns: (() => void) | undefined;
  private stopJobs: (() => void) | undefined;
  private readonly queued = new Set<string>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: StatusSyncOptions) {}

  start(): void {
    this.unsubscribe = jobEvents.subscribe((job) => this.jobChanged(job));
  }

  /** Follows the job service's durable "job ended" events (at least once, across restarts): an eval job's end, or a job of a run it started. */
  followJobs(events: JobEventBus): void {
    this.stopJobs = events.subscribe(
      "vcs-statuses",
      async (event) => {
        const root = await this.evalRoot(event.job.id);
        if (root) await this.sync(root);
      },
      { kinds: ["ended"] },
    );
  }

  /** Follows the workflow engine's durable run events (at least once, in order, across restarts). */
  followRuns(events: WorkflowEvents): void {
    this.stopRuns = events.subscribe("vcs-statuses", async (event) => {
      await this.runChanged(event.runId);
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.stopRuns?.();
    this.stopJobs?.();
    await this.chain;
  }

  /** Events for one eval tree are handled one after another, in order; repeats while waiting are merged. */
  jobChanged(job: Pick<Job, "id">): void {
    if (this.queued.has(job.id)) return;
    this.queued.add(job.id);
    this.chain = this.chain
      .then(async () => {
        this.queued.delete(job.id);
        const root = await this.evalRoot(job.id);
        if (root) await this.sync(root);
      })
      .catch((error) => this.o.log?.(`vcs statuses: ${(error as Error).message}`));
  }

  /** Waits for the events handed in so far (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Brings every delivery of the last day whose eval tree still has something to report up to date. */
  async reconcile(): Promise<void> {
    const rows = await this.o.db
      .select({ evalJobId: webhookDeliveries.evalJobId })
      .from(webhookDeliveries)
      .where(sql`${webhookDeliveries.evalJobId} is not null and ${webhookDeliveries.receivedAt} > now() - interval '1 day'`);
    for (const r of rows) await this.sync(r.evalJobId!);
  }

  /** The eval job behind a job: itself, or the eval job that started the job's workflow run. */
  private async evalRoot(jobId: string): Promise<string | undefined> {
    const rows = await this.o.db.execute<{ id: string }>(sql`
      SELECT eval_job_id AS id FROM webhook_deliveries WHERE eval_job_id = ${jobId}
      UNION ALL
      SELECT d.eval_job_id FROM jobs j JOIN workflow_nodes n ON n.run_id = j.workflow_run_id
        JOIN webhook_deliveries d ON d.eval_job_id = n.parent_job_id
      WHERE j.id = ${jobId} LIMIT 1`);
    return rows[0]?.id;
  }

  /** A workflow run changed (the engine's run events): the eval job that started it, if an event's. */
  async runChanged(runId: string): Promise<void> {
    const rows = await this.o.db.execute<{ id: string }>(sql`
      SELECT d.eval_job_id AS id FROM workflow_nodes n JOIN webhook_deliveries d ON d.eval_job_id = n.parent_job_id
      WHERE n.run_id = ${runId} LIMIT 1`);
    if (rows[0]) await this.sync(rows[0].id);
  }

  async sync(evalJobId: string): Promise<void> {
    const { db } = this.o;
    const [delivery] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.evalJobId, evalJobId)).limit(1);
    if (!delivery?.mapped || !delivery.projectId) return;
    const event = delivery.mapped as unknown as VcsEvent;
    const [evalJob] = await db.select().from(jobs).where(eq(jobs.id, evalJobId)).limit(1);
    if (!evalJob) return;
    const rows = await db.execute<RunRow>(sql`
      SELECT r.id AS run_id, r.name AS run_name, r.status AS run_status, r.reason AS run_reason,
        n.name AS node, n.status AS node_status, n.job_id, j.status AS job_status, j.started_at, j.finished_at
      FROM workflow_nodes n JOIN workflow_runs r ON r.id = n.run_id LEFT JOIN jobs j ON j.id = n.job_id
      WHERE n.run_id IN (SELECT run_id FROM workflow_nodes WHERE parent_job_id = ${evalJobId})
      ORDER BY r.created_at, r.id, n.created_at, n.name`);
    const projectId = delivery.projectId;
    const groups = new Map<string, SummaryGroup & { status: string; reason: string | null }>();
    for (const r of rows) {
      let g = groups.get(r.run_id);
      if (!g) groups.set(r.run_id, (g = { name: r.run_name, context: `reactorcide/${r.run_name}`, url: runUrl(this.o.publicUrl, r.run_id), jobs: [], status: r.run_status, reason: r.run_reason }));
      g.jobs.push({ name: r.node, status: (r.job_status ?? r.node_status) as SummaryJob["status"], url: r.job_id ? jobUrl(this.o.publicUrl, r.job_id) : undefined, seconds: seconds(r) });
    }

    const evalState = jobState(evalJob.status);
    const launched = groups.size;
    const ended = evalState !== "pending" && evalState !== "running";
    const problems = ended && evalJob.status !== "success" && this.o.problems ? await this.o.problems(evalJobId) : [];
    await setCommitStatus(db, projectId, event.apiRepo, {
      sha: event.sha,
      context: EVAL_CONTEXT,
      state: evalState,
      description:
        evalState === "pending"
          ? "Reactorcide is deciding what runs"
          : evalState === "running"
            ? "eval is running"
            : evalState === "success"
              ? launched === 0
                ? "no workflow matches this event"
                : `started ${launched} workflow run${launched === 1 ? "" : "s"}`
              : problems.length
                ? problemsDescription(problems, launched)
                : `eval ended ${evalJob.status}${evalJob.reason ? `: ${evalJob.reason}` : "; see its log"}`,
      targetUrl: jobUrl(this.o.publicUrl, evalJobId),
    });
    for (const g of groups.values()) {
      const total = g.jobs.length;
      const done = g.jobs.filter((j) => !["queued", "running", "waiting"].includes(j.status)).length;
      const state = runState(g.status);
      const counted = `${done} of ${total} job${total === 1 ? "" : "s"} done`;
      await setCommitStatus(db, projectId, event.apiRepo, {
        sha: event.sha,
        context: g.context,
        state,
        description: g.reason && state !== "pending" ? g.reason : g.status === "awaiting_approval" ? AWAITING_APPROVAL : state === "pending" ? counted : `${g.status}: ${counted}`,
        targetUrl: g.url,
      });
    }
    if (event.prNumber !== undefined) {
      const body = renderSummary({
        sha: event.sha,
        eval: { name: "eval", status: evalJob.status, url: jobUrl(this.o.publicUrl, evalJobId), seconds: seconds({ started_at: evalJob.startedAt, finished_at: evalJob.finishedAt }) },
        problems,
        groups: [...groups.values()],
        ...(event.isFork ? { fork: { baseSha: event.baseSha, awaiting: [...groups.values()].some((g) => g.status === "awaiting_approval") } } : {}),
      });
      await setSummaryComment(db, projectId, event.apiRepo, event.prNumber, body);
    }
    this.o.onReports?.();
  }
}

/** The commit status of a fork pull request's run until a person approves or declines it. */
export const AWAITING_APPROVAL = "awaiting approval";

/** A workflow run's status as a commit status state. */
export function runState(status: string): ReportState {
  if (status === "success") return "success";
  if (status === "failure") return "failure";
  if (status === "cancelled") return "cancelled";
  return "pending";
}

function seconds(j: { started_at: Date | string | null; finished_at: Date | string | null }): number | undefined {
  if (!j.started_at) return undefined;
  const end = j.finished_at ? new Date(j.finished_at).getTime() : Date.now();
  return Math.max(0, Math.round((end - new Date(j.started_at).getTime()) / 1000));
}

export function runUrl(publicUrl: string | undefined, runId: string): string | undefined {
  return publicUrl ? `${publicUrl.replace(/\/+$/, "")}/workflows/${runId}` : undefined;
}
