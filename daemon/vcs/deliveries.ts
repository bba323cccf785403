/**
 * Turns recorded deliveries into work: each `received` delivery becomes one eval job, its
 * `reactorcide/eval` pending status and the delivery marked processed, in one transaction. Rows
 * are claimed with SKIP LOCKED, so several coordinators share the work; what a crash left
 * `received` is processed at the next start.
 */
import { and, eq, sql } from "drizzle-orm";
import { jobs, webhookDeliveries } from "../../schema/app/index.ts";
import { findProject, type Project } from "../api/access.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import type { WorkflowEngine } from "../workflows/engine.ts";
import { isCommand } from "./classify.ts";
import { applyCommand, type CommandOutcome } from "./comment-commands.ts";
import { NEVER_REASON } from "./eval-runs.ts";
import { FORGES, apiUrlOf } from "./forges.ts";
import { openProjectField } from "./project-secrets.ts";
import type { Db } from "../db/client.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { insertJob, type Job } from "../jobs/store.ts";
import { EVAL_CONTEXT, evalJob } from "./eval-job.ts";
import type { VcsCommand, VcsEvent } from "./event.ts";

type Delivery = typeof webhookDeliveries.$inferSelect;
import { setCommitStatus } from "./reports.ts";

export interface DeliveryProcessorOptions {
  db: Db;
  queue: JobQueue;
  /** Open the projects' vcs_token (asking the forge who may approve, who is a maintainer). */
  keys?: readonly MasterKey[];
  /** Applies pull request comments' approvals; until set (useWorkflows), comment deliveries wait. */
  workflows?: WorkflowEngine;
  /** The image the eval job runs in (default reactorcide/runner:dev). */
  evalImage?: string;
  /** The address people reach the daemon at, for status links. */
  publicUrl?: string;
  /** Called after statuses were written (the reporter's kick). */
  onReports?: () => void;
  log?: (message: string) => void;
}

const MAX_ATTEMPTS = 5;

export function jobUrl(publicUrl: string | undefined, jobId: string): string | undefined {
  return publicUrl ? `${publicUrl.replace(/\/+$/, "")}/jobs/${jobId}` : undefined;
}

export class DeliveryProcessor {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly o: DeliveryProcessorOptions) {}

  /** The engine is built after the VCS services (buildApp): comment commands are processed from then on. */
  useWorkflows(workflows: WorkflowEngine): void {
    this.o.workflows = workflows;
    this.kick();
  }

  private target(project: Project) {
    const forge = FORGES[project.vcsProvider as keyof typeof FORGES];
    const token = this.o.keys ? openProjectField(this.o.keys, project, "vcs_token") : undefined;
    return forge && token ? { forge, target: { apiUrl: apiUrlOf(forge, project.vcsApiUrl), token, repo: "" } } : undefined;
  }

  /** A delivery was recorded: process it now (coalesced with a pass already running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drainOnce()
      .catch((error) => this.o.log?.(`webhook deliveries: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Processes every received delivery (start-up, tests). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    await this.drainOnce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    while (this.running) await this.running;
  }

  private async drainOnce(): Promise<void> {
    while (!this.stopped && (await this.processNext())) {}
  }

  /** One received delivery, or false when none is left. */
  async processNext(): Promise<boolean> {
    const { db } = this.o;
    let made: Job | undefined;
    let failed: { id: string; attempts: number; message: string } | undefined;
    let command: { row: Delivery; project: Project } | undefined;
    const found = await db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(webhookDeliveries)
        // Comments wait for the workflow engine (set just after start).
        .where(and(eq(webhookDeliveries.status, "received"), this.o.workflows ? undefined : sql`${webhookDeliveries.mapped}->>'kind' is distinct from 'command'`))
        .orderBy(webhookDeliveries.receivedAt)
        .limit(1)
        .for("update", { skipLocked: true });
      if (!row) return false;
      const done = (outcome: "accepted" | "error" | "filtered", reason: string | null, evalJobId?: string) =>
        tx
          .update(webhookDeliveries)
          .set({ status: "processed", outcome, reason, processedAt: new Date(), attempts: row.attempts + 1, ...(evalJobId ? { evalJobId } : {}) })
          .where(eq(webhookDeliveries.id, row.id));
      const project = row.projectId ? await findProject(tx as unknown as Db, row.projectId) : undefined;
      if (!project || !row.mapped) {
        await done("error", project ? "the delivery was recorded without an event" : "the project is gone");
        return true;
      }
      if (isCommand(row.mapped)) {
        // Asking the forge takes time: done after this transaction, which only found the row.
        command = { row, project };
        return true;
      }
      const event = row.mapped as unknown as VcsEvent;
      if (event.isFork && project.forkPrPolicy === "never") {
        await setCommitStatus(tx, project.id, event.apiRepo, { sha: event.sha, context: EVAL_CONTEXT, state: "failure", description: NEVER_REASON });
        await done("filtered", NEVER_REASON);
        return true;
      }
      try {
        if (event.isFork && event.maintainer === undefined && project.forkPrPolicy === "approval" && project.forkPrTrustMaintainers) {
          // GitLab's hook does not say whether the author is a member: asked once, kept with the event.
          const t = this.target(project);
          event.maintainer = t ? await t.forge.isMaintainer({ ...t.target, repo: event.apiRepo }, event) : false;
          await tx.update(webhookDeliveries).set({ mapped: { ...event } }).where(eq(webhookDeliveries.id, row.id));
        }
        const job = await insertJob(tx, evalJob(project, event, { image: this.o.evalImage, deliveryId: row.deliveryId }));
        made = job!;
        await setCommitStatus(tx, project.id, event.apiRepo, {
          sha: event.sha,
          context: EVAL_CONTEXT,
          state: "pending",
          description: "Reactorcide is deciding what runs",
          targetUrl: jobUrl(this.o.publicUrl, made.id),
        });
        await done("accepted", `eval job ${made.id} started`, made.id);
      } catch (error) {
        failed = { id: row.id, attempts: row.attempts + 1, message: (error as Error).message };
        throw error;
      }
      return true;
    }).catch(async (error) => {
      if (!failed) throw error;
      made = undefined;
      // Kept `received` for another try, up to MAX_ATTEMPTS; then recorded as an error with why.
      const give = failed.attempts >= MAX_ATTEMPTS;
      await db
        .update(webhookDeliveries)
        .set(give ? { status: "processed", outcome: "error", reason: failed.message, attempts: failed.attempts, processedAt: new Date() } : { attempts: failed.attempts })
        .where(and(eq(webhookDeliveries.id, failed.id), eq(webhookDeliveries.status, "received")));
      this.o.log?.(`webhook delivery ${failed.id}: ${failed.message}`);
      return give;
    });
    if (made) {
      // After the commit: a crash before this leaves a queued job, which requeueing at start submits.
      await this.o.queue.enqueue(made);
      this.o.onReports?.();
    }
    if (command) return this.processCommand(command.row, command.project);
    return found;
  }

  /** A pull request comment's /reactorcide approve|decline (comment-commands.ts); its delivery is marked processed with the decision. */
  private async processCommand(row: Delivery, project: Project): Promise<boolean> {
    const { db } = this.o;
    const mark = (tx: Pick<Db, "update">, outcome: CommandOutcome) =>
      tx
        .update(webhookDeliveries)
        .set({ status: "processed", outcome: outcome.outcome, reason: outcome.reason, processedAt: new Date(), attempts: row.attempts + 1 })
        .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, "received")));
    try {
      const outcome = await applyCommand({ db, keys: this.o.keys ?? [], workflows: this.o.workflows!, log: this.o.log }, project, row, row.mapped as unknown as VcsCommand, (tx, o) =>
        mark(tx as unknown as Db, o).then(() => undefined),
      );
      if (outcome?.outcome === "ignored") {
        await mark(db, outcome);
        this.o.log?.(`webhook delivery ${row.id}: ${outcome.reason}`);
      }
      this.o.onReports?.();
      return true;
    } catch (error) {
      const attempts = row.attempts + 1;
      const give = attempts >= MAX_ATTEMPTS;
      const message = (error as Error).message;
      await db
        .update(webhookDeliveries)
        .set(give ? { status: "processed", outcome: "error", reason: message, attempts, processedAt: new Date() } : { attempts })
        .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, "received")));
      this.o.log?.(`webhook delivery ${row.id}: ${message}`);
      return give;
    }
  }
}
