/**
 * Keeps the VCS in step with the jobs an event started: `reactorcide/eval` for the eval job, one
 * `reactorcide/<workflow>` per workflow run it started, and for a pull request the summary
 * comment. Driven by job events (daemon/jobs/events.ts), not by polling; everything is derived
 * from the database, so `reconcile` at start catches up on what a restart missed.
 */
import { eq, sql } from "drizzle-orm";
import { webhookDeliveries } from "../../schema/app/index.ts";
import type { JobStatus } from "../../runner/protocol/index.ts";
import type { Db } from "../db/client.ts";
import { jobEvents } from "../jobs/events.ts";
import type { Job } from "../jobs/store.ts";
import { jobUrl } from "./deliveries.ts";
import { EVAL_CONTEXT } from "./eval-job.ts";
import type { VcsEvent } from "./event.ts";
import type { ReportState } from "./forge.ts";
import { setCommitStatus, setSummaryComment } from "./reports.ts";
import { renderSummary, type SummaryGroup } from "./summary.ts";

type TreeJob = {
  id: string;
  name: string;
  status: JobStatus;
  workflow_run_id: string | null;
  run_name: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  depth: number;
};

const ACTIVE: readonly JobStatus[] = ["queued", "running"];

/** The state of a set of jobs: pending while any runs; else the worst end. */
export function groupState(statuses: readonly JobStatus[]): ReportState {
  if (statuses.length === 0 || statuses.some((s) => ACTIVE.includes(s))) return "pending";
  if (statuses.some((s) => s === "failure" || s === "timed_out")) return "failure";
  if (statuses.some((s) => s === "error")) return "error";
  if (statuses.some((s) => s === "cancelled")) return "cancelled";
  return "success";
}

export function jobState(status: JobStatus): ReportState {
  if (status === "queued") return "pending";
  if (status === "running") return "running";
  if (status === "timed_out") return "failure";
  return status;
}

export interface StatusSyncOptions {
  db: Db;
  publicUrl?: string;
  onReports?: () => void;
  log?: (message: string) => void;
}

export class StatusSync {
  private unsubscribe: (() => void) | undefined;
  private readonly queued = new Set<string>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: StatusSyncOptions) {}

  start(): void {
    this.unsubscribe = jobEvents.subscribe((job) => this.jobChanged(job));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
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

  /** The eval job at the top of a job's parent chain, if it came from a delivery. */
  private async evalRoot(jobId: string): Promise<string | undefined> {
    const rows = await this.o.db.execute<{ id: string }>(sql`
      WITH RECURSIVE up(id, parent_job_id, depth) AS (
        SELECT id, parent_job_id, 0 FROM jobs WHERE id = ${jobId}
        UNION ALL SELECT j.id, j.parent_job_id, up.depth + 1 FROM jobs j JOIN up ON j.id = up.parent_job_id WHERE up.depth < 20)
      SELECT d.eval_job_id AS id FROM up JOIN webhook_deliveries d ON d.eval_job_id = up.id LIMIT 1`);
    return rows[0]?.id;
  }

  async sync(evalJobId: string): Promise<void> {
    const { db } = this.o;
    const [delivery] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.evalJobId, evalJobId)).limit(1);
    if (!delivery?.mapped || !delivery.projectId) return;
    const event = delivery.mapped as unknown as VcsEvent;
    const tree = await db.execute<TreeJob>(sql`
      WITH RECURSIVE down(id, depth) AS (
        SELECT id, 0 FROM jobs WHERE id = ${evalJobId}
        UNION ALL SELECT j.id, down.depth + 1 FROM jobs j JOIN down ON j.parent_job_id = down.id WHERE down.depth < 20)
      SELECT j.id, j.name, j.status, j.workflow_run_id, r.name AS run_name, j.created_at, j.started_at, j.finished_at, down.depth
      FROM down JOIN jobs j ON j.id = down.id LEFT JOIN workflow_runs r ON r.id = j.workflow_run_id
      ORDER BY j.created_at, j.id`);
    const evalJob = tree.find((j) => j.id === evalJobId);
    if (!evalJob) return;
    const projectId = delivery.projectId;
    const followUps = tree.filter((j) => j.id !== evalJobId);

    const groups = new Map<string, SummaryGroup>();
    for (const j of followUps) {
      // Jobs outside any workflow run report under their own name.
      const key = j.workflow_run_id ?? `job:${j.id}`;
      const name = j.run_name ?? j.name;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { name, context: `reactorcide/${name}`, url: j.workflow_run_id ? runUrl(this.o.publicUrl, j.workflow_run_id) : jobUrl(this.o.publicUrl, j.id), jobs: [] }));
      g.jobs.push({ name: j.name, status: j.status, url: jobUrl(this.o.publicUrl, j.id), seconds: seconds(j) });
    }

    const evalState = jobState(evalJob.status);
    const launched = groups.size;
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
              ? launched === 0 ? "no workflow matches this event" : `started ${launched} workflow run${launched === 1 ? "" : "s"}`
              : `eval ended ${evalJob.status}; see its log`,
      targetUrl: jobUrl(this.o.publicUrl, evalJobId),
    });
    for (const g of groups.values()) {
      const statuses = g.jobs.map((j) => j.status);
      const done = statuses.filter((s) => !ACTIVE.includes(s)).length;
      const state = groupState(statuses);
      await setCommitStatus(db, projectId, event.apiRepo, {
        sha: event.sha,
        context: g.context,
        state,
        description: state === "pending" ? `${done} of ${statuses.length} job${statuses.length === 1 ? "" : "s"} done` : `${state}: ${done} of ${statuses.length} jobs done`,
        targetUrl: g.url,
      });
    }
    if (event.prNumber !== undefined) {
      const body = renderSummary({
        sha: event.sha,
        eval: { name: "eval", status: evalJob.status, url: jobUrl(this.o.publicUrl, evalJobId), seconds: seconds(evalJob) },
        groups: [...groups.values()],
      });
      await setSummaryComment(db, projectId, event.apiRepo, event.prNumber, body);
    }
    this.o.onReports?.();
  }
}

function seconds(j: Pick<TreeJob, "started_at" | "finished_at">): number | undefined {
  if (!j.started_at) return undefined;
  const end = j.finished_at ? new Date(j.finished_at).getTime() : Date.now();
  return Math.max(0, Math.round((end - new Date(j.started_at).getTime()) / 1000));
}

export function runUrl(publicUrl: string | undefined, runId: string): string | undefined {
  return publicUrl ? `${publicUrl.replace(/\/+$/, "")}/workflows/${runId}` : undefined;
}
