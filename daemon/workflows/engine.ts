/**
 * Workflow runs on the daemon: the nodes of a workflow file (and the jobs triggers add) become
 * jobs as their dependencies end, decided by the same code as the local `workflow run`
 * (runner/workflow/decide.ts).
 *
 * Entry points (one WorkflowEngine per coordinator, `deps.workflows` in the API):
 *   engine.start({ projectId, workflow, event, branch, sha, source, ... })
 *       → a new run of a loaded workflow file (parseWorkflowDefinition in definition.ts reads
 *         YAML text or JSON). VCS: one call per matching workflow file of an eval job.
 *         `awaitingApproval: true` makes a run that waits for engine.approve(runId).
 *   engine.extendFromTrigger(parentJobId, payload, via)
 *       → the jobs a running job asked for (POST /jobs/{id}/triggers, triggers.json, stdout
 *         lines): they join the parent's run (or a new run around the parent), de-duplicated by
 *         (parent, operation_id, job_name), refused with a reason past the limits.
 *   engine.jobEnded(jobId)  → advance the job's run (called when a job reaches an end status).
 *   engine.cancel / retry / retryFailed / approve, engine.recover() at start.
 *   engine.events           → durable "run created/changed/ended" events (events.ts).
 *
 * Crash safety: every change (nodes decided, jobs inserted, run status, its event) happens in
 * one transaction under the run's row lock; jobs are handed to the queue after the commit, and a
 * queued job without a task is submitted again at start (server/requeue.ts). A daemon killed at
 * any moment leaves either the state before a step or the state after it; recover() advances
 * every running run at start, so a job end whose advance was lost is picked up then.
 */
import { and, asc, count, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import {
  forkPrDecisions,
  jobs,
  triggerReceipts,
  WORKFLOW_RUN_ENDED,
  workflowNodes,
  workflowRuns,
  type WorkflowNodeStatus,
  type WorkflowRunStatus,
} from "../../schema/app/index.ts";
import { DEFAULT_IMAGE, IMAGE_PATTERN, TERMINAL_STATUSES, type JobStatus, type Source as SourceRef, type StepSpec } from "../../runner/protocol/index.ts";
import { jobEnvStrings } from "../../runner/protocol/job-spec.ts";
import type { TriggerJob, TriggerPayload } from "../../runner/protocol/trigger.ts";
import { runSucceeded, skipReason, triggeredNodes } from "../../runner/workflow/decide.ts";
import type { Workflow, WorkflowJob } from "../../runner/workflow/load.ts";
import type { Db } from "../db/client.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { appendLogs, insertJobs, type Job, type NewJob } from "../jobs/store.ts";
import { recordJobEvents } from "../jobs/outbox.ts";
import { jobView } from "../jobs/view.ts";
import { failpoint } from "../failpoints.ts";
import { WorkflowEvents, type Tx } from "./events.ts";
import { DEFAULT_WORKFLOW_LIMITS, type WorkflowLimits } from "./limits.ts";

export type WorkflowRun = typeof workflowRuns.$inferSelect;
export type WorkflowNode = typeof workflowNodes.$inferSelect;

/** The image of a node that names none, in a project without a default image. */
export const DEFAULT_JOB_IMAGE = DEFAULT_IMAGE;

/** What every job of a run inherits (stored on the run, so retries and triggers see the same). */
export interface RunContext {
  /** REACTORCIDE_EVENT_TYPE, _BRANCH, _SHA: in every job's env and seen by `if:`. */
  eventEnv: Record<string, string>;
  source: SourceRef | null;
  ciSource: SourceRef | null;
  /** Secret names every job gets; a trigger may narrow them, never widen. */
  secrets: string[];
  /** Set by policy (fork pull requests) or asked for; a child of an untrusted job is untrusted. */
  untrusted: boolean;
  image: string | null;
  submittedBy: string | null;
  /** A fork pull request's run (#14): what an approval of it binds to. */
  forkPr?: ForkPrContext;
  /** `none`: every job of the run gets no network (the project's fork_pr_network). */
  network?: "none";
}

/** A fork pull request's facts, kept on its runs: an approval holds for this project, pull request, head and base SHA. */
export interface ForkPrContext {
  prNumber: number;
  headSha: string;
  baseSha: string;
  headRepoUrl: string;
  author: string | null;
  maintainer: boolean;
}

/** A node's stored spec: the loaded job plus what a trigger narrowed. */
type NodeSpec = WorkflowJob & { secrets?: string[]; source?: SourceRef; ciSource?: SourceRef; priority?: number; untrusted?: boolean };

export interface StartRunInput {
  projectId: string;
  workflow: Workflow;
  event?: string;
  ref?: string;
  sha?: string;
  branch?: string;
  source?: SourceRef | null;
  ciSource?: SourceRef | null;
  secrets?: string[];
  untrusted?: boolean;
  image?: string | null;
  submittedBy?: string | null;
  /** Fork pull requests (#14): the run waits for approve() before any job is queued. */
  awaitingApproval?: boolean;
  retryOf?: string;
}

/** A trigger the coordinator will not run, and why (shown in the parent's log and the API). */
export class TriggerRefused extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "TriggerRefused";
  }
}

/** An action that does not fit the run's state (cancel an ended run, retry-failed a success). */
export class WorkflowConflict extends Error {}

export interface TriggerOutcome {
  runId: string;
  /** Node names created now. */
  created: string[];
  /** Jobs of the payload already received by another path (same operation_id and job_name). */
  duplicates: number;
}

export type TriggerPath = "api" | "file" | "stdout" | "worker";

export interface WorkflowEngineDeps {
  db: Db;
  queue: JobQueue;
  limits?: WorkflowLimits;
  /** Each node's wait between becoming ready and its job starting, in seconds. */
  onNodeWait?: (seconds: number) => void;
  /**
   * Whether a job outside any run is an event's eval job (daemon/vcs), and what its runs get.
   * Its triggers start one run per `workflow` they name instead of a run around the job.
   */
  eventRuns?: (tx: Tx, parent: Job) => Promise<EventRunsPlan | undefined>;
}

/** What the runs an eval job starts inherit: the event, its sources and trust, and which secrets the project lets them name. */
export interface EventRunsPlan {
  eventEnv: Record<string, string>;
  event: string;
  branch?: string;
  sha: string;
  source: SourceRef | null;
  ciSource: SourceRef | null;
  untrusted: boolean;
  /**
   * Secret names a triggered job may ask for: the project's, for an event from its own repository
   * (naming another fails the run); for a fork's pull request those it may get (others are
   * withheld: the job runs without them, and the eval job's log says so).
   */
  allowedSecrets: string[];
  /** A fork pull request's run: waits for a person (awaiting), starts at once (none, approved), or is declined at once. */
  approval?: { state: "none" | "awaiting" | "approved" } | { state: "declined"; reason: string };
  forkPr?: ForkPrContext;
  network?: "none";
}

const ENDED_NODE: readonly string[] = [...TERMINAL_STATUSES, "skipped"];
const isEnded = (status: string) => ENDED_NODE.includes(status);
const isTerminalJob = (status: string | undefined) => status !== undefined && (TERMINAL_STATUSES as readonly string[]).includes(status);
const RETRYABLE: readonly string[] = ["failure", "error", "cancelled", "timed_out"];

function eventEnvOf(input: { event?: string; branch?: string; sha?: string; ref?: string }): Record<string, string> {
  const env: Record<string, string> = { REACTORCIDE_EVENT_TYPE: input.event ?? "push" };
  if (input.branch) env.REACTORCIDE_BRANCH = input.branch;
  if (input.sha) env.REACTORCIDE_SHA = input.sha;
  if (input.ref) env.REACTORCIDE_REF = input.ref;
  return env;
}

function sourceOf(type?: string, url?: string, ref?: string): SourceRef | undefined {
  if (!type) return undefined;
  return { type: type as SourceRef["type"], ...(url ? { url } : {}), ...(ref ? { ref } : {}) };
}

export class WorkflowEngine {
  readonly events: WorkflowEvents;
  readonly limits: WorkflowLimits;

  constructor(private readonly deps: WorkflowEngineDeps) {
    this.events = new WorkflowEvents(deps.db);
    this.limits = deps.limits ?? DEFAULT_WORKFLOW_LIMITS;
  }

  /**
   * Runs `work` in one transaction, then hands the jobs it created to the queue and wakes
   * subscribers. Public so a caller can commit its own rows (an approval, its audit entry) with
   * approveIn/declineIn in the same transaction.
   */
  async commit<T>(work: (tx: Tx, created: Job[]) => Promise<T>): Promise<T> {
    const created: Job[] = [];
    const result = await this.events.transaction((tx) => work(tx, created));
    failpoint("workflow.committed");
    for (const job of created) await this.deps.queue.enqueue(job);
    this.events.wake();
    return result;
  }

  async start(input: StartRunInput): Promise<WorkflowRun> {
    const { workflow } = input;
    if (workflow.jobs.length > this.limits.maxNodes) {
      throw new TriggerRefused(`the workflow has ${workflow.jobs.length} jobs; a run holds at most ${this.limits.maxNodes}`, "workflow");
    }
    const context: RunContext = {
      eventEnv: eventEnvOf(input),
      source: input.source ?? null,
      ciSource: input.ciSource ?? null,
      secrets: input.secrets ?? [],
      untrusted: input.untrusted ?? false,
      image: input.image ?? null,
      submittedBy: input.submittedBy ?? null,
    };
    return this.commit(async (tx, created) => {
      const status: WorkflowRunStatus = input.awaitingApproval ? "awaiting_approval" : "running";
      const [run] = await tx
        .insert(workflowRuns)
        .values({
          projectId: input.projectId,
          name: workflow.name,
          status,
          event: input.event ?? "push",
          ref: input.ref ?? input.branch ?? null,
          commitSha: input.sha ?? null,
          triggeredBy: input.submittedBy ?? null,
          definition: workflow as unknown as Record<string, unknown>,
          context: context as unknown as Record<string, unknown>,
          retryOf: input.retryOf ?? null,
        })
        .returning();
      if (workflow.jobs.length) {
        await tx.insert(workflowNodes).values(
          workflow.jobs.map((job) => ({
            runId: run!.id,
            name: job.name,
            spec: job as unknown as Record<string, unknown>,
            dependsOn: job.dependsOn,
            condition: job.condition,
          })),
        );
      }
      await this.events.record(tx, run!.id, "created", status);
      created.push(...(await this.advanceIn(tx, run!.id)));
      const [now] = await tx.select().from(workflowRuns).where(eq(workflowRuns.id, run!.id));
      return now!;
    });
  }

  /** An awaiting_approval run starts: its first jobs are queued. */
  async approve(runId: string): Promise<WorkflowRun> {
    return this.commit((tx, created) => this.approveIn(tx, created, runId));
  }

  /** approve() inside the caller's transaction (commit()); the jobs it makes go to `created`. */
  async approveIn(tx: Tx, created: Job[], runId: string): Promise<WorkflowRun> {
    const run = await this.lockRun(tx, runId);
    if (run.status !== "awaiting_approval") throw new WorkflowConflict(`workflow run is ${run.status}; only a run awaiting approval can be approved`);
    await tx.update(workflowRuns).set({ status: "running", updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
    await this.events.record(tx, runId, "changed", "running");
    created.push(...(await this.advanceIn(tx, runId)));
    return (await this.getRun(tx, runId))!;
  }

  /** An awaiting_approval run ends `failure` with `reason` (e.g. "declined by alice"); no job of it ever starts. */
  async declineIn(tx: Tx, runId: string, reason: string): Promise<WorkflowRun> {
    const run = await this.lockRun(tx, runId);
    if (run.status !== "awaiting_approval") throw new WorkflowConflict(`workflow run is ${run.status}; only a run awaiting approval can be declined`);
    await tx
      .update(workflowNodes)
      .set({ status: "cancelled", reason, updatedAt: new Date() })
      .where(and(eq(workflowNodes.runId, runId), eq(workflowNodes.status, "waiting")));
    await tx.update(workflowRuns).set({ status: "failure", reason, finishedAt: new Date(), updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
    await this.events.record(tx, runId, "ended", "failure");
    return (await this.getRun(tx, runId))!;
  }

  /** A job reached an end status: its run moves on. Safe to call twice, or for a job in no run. */
  async jobEnded(jobId: string): Promise<void> {
    const [job] = await this.deps.db
      .select({ runId: jobs.workflowRunId, startedAt: jobs.startedAt, name: jobs.name })
      .from(jobs)
      .where(eq(jobs.id, jobId));
    failpoint("workflow.job-ended", job?.name);
    if (!job?.runId) {
      // An event's eval job is in no run, but the runs it started wait for it to end.
      const started = await this.deps.db.selectDistinct({ runId: workflowNodes.runId }).from(workflowNodes).where(eq(workflowNodes.parentJobId, jobId));
      for (const { runId } of started) await this.commit(async (tx, created) => void created.push(...(await this.advanceIn(tx, runId))));
      return;
    }
    const wait = await this.commit(async (tx, created) => {
      created.push(...(await this.advanceIn(tx, job.runId!)));
      const [node] = await tx.select({ readyAt: workflowNodes.readyAt }).from(workflowNodes).where(eq(workflowNodes.jobId, jobId));
      return node?.readyAt && job.startedAt ? (job.startedAt.getTime() - node.readyAt.getTime()) / 1000 : undefined;
    });
    if (wait !== undefined) this.deps.onNodeWait?.(Math.max(0, wait));
  }

  /** At start: every running run is advanced, so job ends whose advance a crash cut off are taken up. */
  async recover(): Promise<number> {
    const runs = await this.deps.db.select({ id: workflowRuns.id }).from(workflowRuns).where(eq(workflowRuns.status, "running"));
    for (const run of runs) await this.commit(async (tx, created) => void created.push(...(await this.advanceIn(tx, run.id))));
    return runs.length;
  }

  private async lockRun(tx: Tx, runId: string): Promise<WorkflowRun> {
    const [run] = await tx.select().from(workflowRuns).where(eq(workflowRuns.id, runId)).for("update");
    if (!run) throw new WorkflowConflict("workflow run not found");
    return run;
  }

  private async getRun(tx: Tx | Db, runId: string): Promise<WorkflowRun | undefined> {
    const [run] = await tx.select().from(workflowRuns).where(eq(workflowRuns.id, runId));
    return run;
  }

  /**
   * The heart: under the run's lock, nodes whose jobs ended take their status, waiting nodes
   * whose dependencies have all ended are queued or skipped (repeatedly, so skips cascade), and
   * the run ends when every node has. Returns the jobs inserted (to enqueue after commit).
   */
  private async advanceIn(tx: Tx, runId: string): Promise<Job[]> {
    const run = await this.lockRun(tx, runId);
    if (run.status !== "running") return [];
    const context = run.context as unknown as RunContext;
    const nodes = await tx.select().from(workflowNodes).where(eq(workflowNodes.runId, runId)).orderBy(asc(workflowNodes.createdAt), asc(workflowNodes.name));
    const ids = [...new Set(nodes.flatMap((n) => [n.jobId, n.parentJobId]).filter((x): x is string => !!x))];
    const jobRows = ids.length ? await tx.select({ id: jobs.id, status: jobs.status, reason: jobs.reason }).from(jobs).where(inArray(jobs.id, ids)) : [];
    const jobOf = new Map(jobRows.map((j) => [j.id, j]));
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const created: Job[] = [];
    let changed = false;
    const setNode = async (node: WorkflowNode, values: Partial<WorkflowNode>) => {
      Object.assign(node, values);
      changed = true;
      await tx.update(workflowNodes).set({ ...values, updatedAt: new Date() }).where(eq(workflowNodes.id, node.id));
    };

    for (const node of nodes) {
      const job = node.jobId ? jobOf.get(node.jobId) : undefined;
      if (job && !isEnded(node.status) && isTerminalJob(job.status)) await setNode(node, { status: job.status as WorkflowNodeStatus });
    }
    let project: { defaultImage: string | null } | undefined;
    // Nodes to queue: their jobs are inserted together after the decisions (a queued node ends
    // nothing, so it cannot make another ready in this advance).
    const ready: { node: WorkflowNode; values: NewJob }[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const node of nodes) {
        if (node.status !== "waiting") continue;
        const deps = node.dependsOn.map((d) => byName.get(d));
        if (deps.some((d) => !d || !isEnded(d.status))) continue;
        // A triggered job starts after the job that asked for it has ended, as in a local run.
        if (node.parentJobId && !isTerminalJob(jobOf.get(node.parentJobId)?.status)) continue;
        progress = true;
        const spec = node.spec as unknown as NodeSpec;
        const reason = skipReason(spec, deps.map((d) => ({ name: d!.name, status: d!.status })), context.eventEnv);
        if (reason) {
          await setNode(node, { status: "skipped", reason });
          continue;
        }
        project ??= (await tx.execute<{ default_image: string | null }>(sql`SELECT default_image FROM projects WHERE id = ${run.projectId}`)).map((r) => ({ defaultImage: r.default_image }))[0];
        ready.push({ node, values: this.jobValues(run, context, node, spec, project?.defaultImage ?? null) });
        node.status = "queued";
      }
    }
    if (ready.length) {
      const inserted = new Map((await insertJobs(tx, ready.map((r) => r.values))).map((job) => [job.name, job]));
      const readyAt = new Date();
      for (const { node } of ready) {
        const job = inserted.get(node.name)!;
        created.push(job);
        failpoint("workflow.node-created", node.name);
        Object.assign(node, { jobId: job.id, readyAt });
      }
      const rows = sql.join(ready.map(({ node }) => sql`(${node.id}::uuid, ${node.jobId}::uuid)`), sql`, `);
      const at = readyAt.toISOString();
      await tx.execute(sql`UPDATE workflow_nodes AS n SET status = 'queued', job_id = v.job_id, ready_at = ${at}::timestamptz, updated_at = ${at}::timestamptz FROM (VALUES ${rows}) AS v(id, job_id) WHERE n.id = v.id`);
      changed = true;
    }

    if (nodes.every((n) => isEnded(n.status))) {
      const status: WorkflowRunStatus = runSucceeded(nodes.map((n) => n.status)) ? "success" : "failure";
      await tx.update(workflowRuns).set({ status, finishedAt: new Date(), updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
      await this.events.record(tx, runId, "ended", status);
    } else if (changed) {
      await tx.update(workflowRuns).set({ updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
      await this.events.record(tx, runId, "changed", run.status);
    }
    return created;
  }

  private jobValues(run: WorkflowRun, context: RunContext, node: WorkflowNode, spec: NodeSpec, projectImage: string | null): typeof jobs.$inferInsert {
    const job = spec.spec;
    const stepNames = (job.steps as { name?: string }[] | undefined)?.map((s, i) => s.name ?? `step-${i + 1}`);
    return {
      projectId: run.projectId,
      name: node.name,
      command: job.command ?? `# steps: ${stepNames?.join(", ") ?? "none"}`,
      steps: job.steps ? (job.steps as StepSpec[]) : null,
      image: job.image ?? context.image ?? projectImage ?? DEFAULT_JOB_IMAGE,
      env: { ...context.eventEnv, ...jobEnvStrings(job.env) },
      secretRefs: spec.secrets ?? context.secrets,
      // What a trigger passed on may hold its parent's secrets (as in a local run): masked.
      secretEnvNames: (spec.secretEnvNames ?? []).filter((name) => job.env?.[name] !== undefined),
      source: spec.source ?? job.source ?? context.source,
      ciSource: spec.ciSource ?? job.ci_source ?? context.ciSource,
      timeoutSeconds: job.timeout ?? 3600,
      priority: spec.priority ?? 0,
      resources: job.resources ?? null,
      parentJobId: node.parentJobId,
      workflowRunId: run.id,
      submittedBy: context.submittedBy,
      // Trust flows down: an untrusted run or parent makes every job after it untrusted.
      untrusted: context.untrusted || spec.untrusted === true,
      ...(context.network === "none" ? { network: "none" as const } : {}),
    };
  }

  /**
   * The jobs a job asked for. All of a payload's new jobs are added, or none (refused with the
   * reason, which also goes to the parent's log). Jobs of the same operation already received
   * are counted as duplicates, not created again.
   */
  async extendFromTrigger(parentJobId: string, payload: TriggerPayload, via: TriggerPath): Promise<TriggerOutcome> {
    try {
      return await this.commit((tx, created) => this.extendIn(tx, created, parentJobId, payload));
    } catch (error) {
      if (error instanceof TriggerRefused) {
        await appendLogs(this.deps.db, parentJobId, [{ stream: "system", line: `trigger refused (${via}): ${error.message}` }]).catch(() => undefined);
      }
      throw error;
    }
  }

  private async extendIn(tx: Tx, created: Job[], parentJobId: string, payload: TriggerPayload): Promise<TriggerOutcome> {
    const [peek] = await tx.select({ runId: jobs.workflowRunId }).from(jobs).where(eq(jobs.id, parentJobId));
    if (!peek) throw new TriggerRefused("the job that triggered is gone");
    // Lock order run → job, as cancel takes them.
    if (peek.runId) await this.lockRun(tx, peek.runId);
    const [parent] = await tx.select().from(jobs).where(eq(jobs.id, parentJobId)).for("update");
    const received = await tx
      .select({ jobName: triggerReceipts.jobName, runId: triggerReceipts.runId })
      .from(triggerReceipts)
      .where(and(eq(triggerReceipts.parentJobId, parentJobId), eq(triggerReceipts.operationId, payload.operation_id)));
    const seen = new Set(received.map((r) => r.jobName));
    const fresh: TriggerJob[] = [];
    for (const job of payload.jobs) {
      if (seen.has(job.job_name)) continue;
      seen.add(job.job_name);
      fresh.push(job);
    }
    const duplicates = payload.jobs.length - fresh.length;
    // Sent again (e.g. the answer was lost): the run the first send made. An eval job has no run of
    // its own; its receipts name the event runs it started.
    if (fresh.length === 0) return { runId: parent!.workflowRunId ?? received.find((r) => r.runId)?.runId ?? "", created: [], duplicates };

    const [{ n: before } = { n: 0 }] = await tx.select({ n: count() }).from(triggerReceipts).where(eq(triggerReceipts.parentJobId, parentJobId));
    if (before + fresh.length > this.limits.maxTriggersPerJob) {
      throw new TriggerRefused(`job ${parent!.name} asked for ${before + fresh.length} follow-up jobs; one job may trigger at most ${this.limits.maxTriggersPerJob}`, "jobs");
    }
    const plan = parent!.workflowRunId ? undefined : await this.deps.eventRuns?.(tx, parent!);
    if (plan) return this.startEventRuns(tx, created, parent!, payload, fresh, duplicates, plan);
    fresh.forEach((t, i) => {
      if (t.workflow !== undefined) throw new TriggerRefused(`jobs[${i}].workflow: only an event's eval job starts workflow runs by name`, `jobs[${i}].workflow`);
    });
    const runId = parent!.workflowRunId ?? (await this.runAround(tx, parent!));
    return this.addTriggered(tx, created, parent!, payload, fresh, duplicates, runId);
  }

  /** Adds a payload's new jobs to a run (refusing all of them, with why, if any is not allowed). */
  private async addTriggered(
    tx: Tx,
    created: Job[],
    parent: Job,
    payload: TriggerPayload,
    fresh: TriggerJob[],
    duplicates: number,
    runId: string,
    allowedSecrets?: readonly string[],
  ): Promise<TriggerOutcome> {
    const run = await this.lockRun(tx, runId);
    if (run.status === "cancelled") throw new TriggerRefused("the workflow run was cancelled");
    const context = run.context as unknown as RunContext;
    const untrusted = context.untrusted || parent!.untrusted;
    fresh.forEach((t, i) => this.checkTrigger(t, i, parent!, untrusted, allowedSecrets));

    const nodes = await tx.select().from(workflowNodes).where(eq(workflowNodes.runId, runId));
    const parentNode = nodes.find((n) => n.jobId === parent!.id);
    const depth = (parentNode?.depth ?? 0) + 1;
    if (depth > this.limits.maxDepth) {
      throw new TriggerRefused(`a chain of triggers ${depth} deep; at most ${this.limits.maxDepth} are allowed`, "jobs");
    }
    const definition = run.definition as unknown as Partial<Workflow>;
    const made = triggeredNodes(definition.jobs ?? [], fresh, new Set(nodes.map((n) => n.name)));
    if (typeof made === "string") throw new TriggerRefused(made, "jobs");
    if (nodes.length + made.length > this.limits.maxNodes) {
      throw new TriggerRefused(`the run would hold ${nodes.length + made.length} jobs; at most ${this.limits.maxNodes} are allowed`, "jobs");
    }
    const inserted = made.map((node, i) => {
      const trigger = fresh[i]!;
      const spec: NodeSpec = {
        ...node,
        // An eval job's env for its jobs is the workflow file's, plain text as in a local run.
        ...(allowedSecrets ? { secretEnvNames: [] } : {}),
        // An eval job has no secrets of its own: its jobs get exactly those they name.
        secrets: trigger.secrets ?? (allowedSecrets ? [] : parent!.secretRefs),
        ...(sourceOf(trigger.source_type, trigger.source_url, trigger.source_ref) ? { source: sourceOf(trigger.source_type, trigger.source_url, trigger.source_ref) } : {}),
        ...(sourceOf(trigger.ci_source_type, trigger.ci_source_url, trigger.ci_source_ref) ? { ciSource: sourceOf(trigger.ci_source_type, trigger.ci_source_url, trigger.ci_source_ref) } : {}),
        ...(trigger.priority !== undefined ? { priority: trigger.priority } : {}),
        untrusted,
      };
      // A child runs from its parent's source and job code unless the trigger names its own.
      spec.source ??= parent!.source ?? undefined;
      spec.ciSource ??= parent!.ciSource ?? undefined;
      return { runId, name: node.name, spec: spec as unknown as Record<string, unknown>, dependsOn: node.dependsOn, condition: node.condition, parentJobId: parent!.id, depth };
    });
    await tx.insert(workflowNodes).values(inserted);
    await tx.insert(triggerReceipts).values(
      fresh.map((t, i) => ({ parentJobId: parent!.id, operationId: payload.operation_id, jobName: t.job_name, runId, nodeName: made[i]!.name })),
    );
    if (WORKFLOW_RUN_ENDED.includes(run.status)) {
      // A late trigger (after the run had ended) opens it again rather than being dropped.
      await tx.update(workflowRuns).set({ status: "running", finishedAt: null, updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
    }
    await this.events.record(tx, runId, "changed", run.status === "awaiting_approval" ? run.status : "running");
    created.push(...(await this.advanceIn(tx, runId)));
    return { runId, created: made.map((n) => n.name), duplicates };
  }

  /**
   * An eval job's triggers: grouped by the workflow they name (the workflow file they came from),
   * one new run per group, named after it, all in this transaction. The same operation again
   * creates nothing (trigger receipts), so the file, stdout and API paths start each run once.
   */
  private async startEventRuns(tx: Tx, created: Job[], parent: Job, payload: TriggerPayload, fresh: TriggerJob[], duplicates: number, plan: EventRunsPlan): Promise<TriggerOutcome> {
    const groups = new Map<string, TriggerJob[]>();
    for (const t of fresh) groups.set(t.workflow ?? parent.name, [...(groups.get(t.workflow ?? parent.name) ?? []), t]);
    const names: string[] = [];
    let firstRun = "";
    const approval = plan.approval ?? { state: "none" };
    for (const [name, triggers] of groups) {
      const context: RunContext = {
        eventEnv: plan.eventEnv,
        source: plan.source,
        ciSource: plan.ciSource,
        secrets: [],
        untrusted: plan.untrusted,
        image: null,
        submittedBy: parent.submittedBy,
        ...(plan.forkPr ? { forkPr: plan.forkPr } : {}),
        ...(plan.network ? { network: plan.network } : {}),
      };
      // A fork's jobs get only the secrets the project allows them (after approval); the others
      // are withheld rather than failing the run, as the job of a trusted event gets them.
      let group = triggers;
      if (plan.forkPr) {
        const withheld: string[] = [];
        group = triggers.map((t) => {
          const kept = (t.secrets ?? []).filter((n) => plan.allowedSecrets.includes(n));
          const dropped = (t.secrets ?? []).filter((n) => !plan.allowedSecrets.includes(n));
          if (dropped.length) withheld.push(`job ${t.job_name}: secret${dropped.length > 1 ? "s" : ""} ${dropped.join(", ")} withheld`);
          return t.secrets ? { ...t, secrets: kept } : t;
        });
        if (withheld.length) {
          const why = approval.state === "awaiting" ? "a fork's pull request gets only the project's fork_pr_secrets, once approved" : "a fork's pull request gets no secrets without an approval";
          await appendLogs(tx as unknown as Db, parent.id, withheld.map((w) => ({ stream: "system" as const, line: `workflow ${name}: ${w}: ${why}` })));
        }
      }
      const [run] = await tx
        .insert(workflowRuns)
        .values({
          projectId: parent.projectId,
          name,
          status: approval.state === "none" || approval.state === "approved" ? "running" : "awaiting_approval",
          event: plan.event,
          ref: plan.branch ?? null,
          commitSha: plan.sha,
          triggeredBy: parent.submittedBy,
          definition: { name, jobs: [] },
          context: context as unknown as Record<string, unknown>,
        })
        .returning();
      firstRun ||= run!.id;
      // A job naming a secret the project does not have fails its workflow's run before anything
      // starts, naming it; the other workflows of the event run.
      const missing = group.flatMap((t, i) => (t.secrets ?? []).filter((n) => !plan.allowedSecrets.includes(n)).map((n) => `jobs[${i}] (${t.job_name}).secrets: ${plan.untrusted ? `${n}: a job for a fork's pull request gets no secrets` : `the project has no secret ${n}`}`));
      if (missing.length) {
        const reason = missing.join("; ");
        await tx.update(workflowRuns).set({ status: "failure", reason, finishedAt: new Date(), updatedAt: new Date() }).where(eq(workflowRuns.id, run!.id));
        await tx.insert(workflowNodes).values(group.map((t) => ({ runId: run!.id, name: t.job_name, spec: { name: t.job_name } as Record<string, unknown>, status: "error" as const, reason, parentJobId: parent.id, depth: 1 })));
        await tx.insert(triggerReceipts).values(group.map((t) => ({ parentJobId: parent.id, operationId: payload.operation_id, jobName: t.job_name, runId: run!.id, nodeName: t.job_name })));
        await this.events.record(tx, run!.id, "ended", "failure");
        await appendLogs(tx as unknown as Db, parent.id, [{ stream: "system", line: `workflow ${name}: ${reason}` }]);
        continue;
      }
      await this.events.record(tx, run!.id, "created", run!.status);
      const outcome = await this.addTriggered(tx, created, parent, payload, group, 0, run!.id, plan.allowedSecrets);
      // Decided before its runs existed (a comment on the pull request while eval ran).
      if (approval.state === "declined") await this.declineIn(tx, run!.id, approval.reason);
      names.push(...outcome.created);
    }
    return { runId: firstRun, created: names, duplicates };
  }

  private checkTrigger(trigger: TriggerJob, index: number, parent: Job, untrusted: boolean, allowedSecrets?: readonly string[]): void {
    const field = `jobs[${index}]`;
    if (allowedSecrets) {
      const unknown = (trigger.secrets ?? []).filter((s) => !allowedSecrets.includes(s));
      if (unknown.length) {
        throw new TriggerRefused(
          untrusted
            ? `${field}.secrets: ${unknown.join(", ")}: a job for a fork's pull request gets no secrets`
            : `${field}.secrets: the project has no secret ${unknown.join(", ")}`,
          `${field}.secrets`,
        );
      }
    }
    const extra = allowedSecrets ? [] : (trigger.secrets ?? []).filter((s) => !parent.secretRefs.includes(s));
    if (extra.length) {
      throw new TriggerRefused(
        `${field}.secrets: ${extra.join(", ")} ${extra.length > 1 ? "were" : "was"} not given to job ${parent.name}; a follow-up job gets at most its parent's secrets`,
        `${field}.secrets`,
      );
    }
    if (untrusted && (trigger.ci_source_type || trigger.ci_source_url || trigger.ci_source_ref)) {
      throw new TriggerRefused(`${field}.ci_source_*: a job of untrusted source cannot choose the job code its follow-ups run`, `${field}.ci_source_type`);
    }
    if (trigger.container_image && !new RegExp(IMAGE_PATTERN).test(trigger.container_image)) {
      throw new TriggerRefused(`${field}.container_image: not an image reference`, `${field}.container_image`);
    }
  }

  /** A job outside any workflow that triggers: a run is made around it, with it as the first node. */
  private async runAround(tx: Tx, parent: Job): Promise<string> {
    const env = parent.env ?? {};
    const context: RunContext = {
      eventEnv: Object.fromEntries(Object.entries(env).filter(([k]) => ["REACTORCIDE_EVENT_TYPE", "REACTORCIDE_BRANCH", "REACTORCIDE_SHA", "REACTORCIDE_REF"].includes(k))),
      source: parent.source ?? null,
      ciSource: parent.ciSource ?? null,
      secrets: parent.secretRefs,
      untrusted: parent.untrusted,
      image: parent.image,
      submittedBy: parent.submittedBy,
    };
    const [run] = await tx
      .insert(workflowRuns)
      .values({
        projectId: parent.projectId,
        name: parent.name,
        event: env.REACTORCIDE_EVENT_TYPE ?? null,
        ref: env.REACTORCIDE_BRANCH ?? null,
        commitSha: env.REACTORCIDE_SHA ?? null,
        triggeredBy: parent.submittedBy,
        definition: { name: parent.name, jobs: [] },
        context: context as unknown as Record<string, unknown>,
      })
      .returning();
    const status = (isTerminalJob(parent.status) ? parent.status : "queued") as WorkflowNodeStatus;
    const spec: WorkflowJob = { name: parent.name, group: parent.name, spec: { name: parent.name, command: parent.command }, dependsOn: [], condition: "all_success" };
    await tx.insert(workflowNodes).values({ runId: run!.id, name: parent.name, spec: spec as unknown as Record<string, unknown>, status, jobId: parent.id, readyAt: parent.createdAt });
    await tx.update(jobs).set({ workflowRunId: run!.id }).where(eq(jobs.id, parent.id));
    await this.events.record(tx, run!.id, "created", "running");
    return run!.id;
  }

  /** Waiting nodes are cancelled and queued or running jobs stopped. Returns the jobs it cancelled. */
  async cancel(runId: string, by: string): Promise<{ run: WorkflowRun; cancelledJobs: Job[] }> {
    return this.commit(async (tx) => {
      const run = await this.lockRun(tx, runId);
      if (WORKFLOW_RUN_ENDED.includes(run.status)) throw new WorkflowConflict(`workflow run is already ${run.status}`);
      const reason = `workflow cancelled by ${by}`;
      const nodes = await tx.select().from(workflowNodes).where(eq(workflowNodes.runId, runId));
      const jobIds = nodes.filter((n) => n.jobId && !isEnded(n.status)).map((n) => n.jobId!);
      const cancelledJobs = jobIds.length
        ? await tx
            .update(jobs)
            .set({ status: "cancelled", reason, finishedAt: new Date(), updatedAt: new Date() })
            .where(and(inArray(jobs.id, jobIds), inArray(jobs.status, ["queued", "running"] as JobStatus[])))
            .returning()
        : [];
      await recordJobEvents(tx, "ended", cancelledJobs.map(jobView));
      await tx
        .update(workflowNodes)
        .set({ status: "cancelled", reason, updatedAt: new Date() })
        .where(and(eq(workflowNodes.runId, runId), inArray(workflowNodes.status, ["waiting", "queued", "running"] as WorkflowNodeStatus[])));
      await tx.update(workflowRuns).set({ status: "cancelled", reason, finishedAt: new Date(), updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
      await this.events.record(tx, runId, "ended", "cancelled");
      return { run: (await this.getRun(tx, runId))!, cancelledJobs };
    });
  }

  /** A new run of the same definition and context. */
  async retry(runId: string, by: string | null): Promise<WorkflowRun> {
    const run = await this.getRun(this.deps.db, runId);
    if (!run) throw new WorkflowConflict("workflow run not found");
    if (!WORKFLOW_RUN_ENDED.includes(run.status)) throw new WorkflowConflict(`workflow run is still ${run.status}; only an ended run can be retried`);
    const context = run.context as unknown as RunContext;
    return this.start({
      projectId: run.projectId,
      workflow: run.definition as unknown as Workflow,
      event: run.event ?? undefined,
      ref: context.eventEnv.REACTORCIDE_REF,
      branch: context.eventEnv.REACTORCIDE_BRANCH,
      sha: context.eventEnv.REACTORCIDE_SHA,
      source: context.source,
      ciSource: context.ciSource,
      secrets: context.secrets,
      untrusted: context.untrusted,
      image: context.image,
      submittedBy: by ?? context.submittedBy,
      retryOf: run.id,
    });
  }

  /**
   * Failed, cancelled and timed-out nodes, and every node depending on them, wait again in the
   * same run; the nodes their old jobs triggered are dropped (the new jobs trigger afresh).
   */
  async retryFailed(runId: string): Promise<WorkflowRun> {
    return this.commit(async (tx, created) => {
      const run = await this.lockRun(tx, runId);
      if (!WORKFLOW_RUN_ENDED.includes(run.status)) throw new WorkflowConflict(`workflow run is still ${run.status}; wait for it to end`);
      const nodes = await tx.select().from(workflowNodes).where(eq(workflowNodes.runId, runId));
      const again = new Set(nodes.filter((n) => RETRYABLE.includes(n.status)).map((n) => n.name));
      if (again.size === 0) throw new WorkflowConflict("no node failed, was cancelled or timed out; nothing to retry");
      for (let grew = true; grew; ) {
        grew = false;
        for (const n of nodes) if (!again.has(n.name) && n.dependsOn.some((d) => again.has(d))) grew = again.add(n.name) !== undefined;
      }
      // Nodes triggered by the jobs that run again go; their parents' new jobs trigger them afresh.
      const oldJobs = new Set(nodes.filter((n) => again.has(n.name) && n.jobId).map((n) => n.jobId!));
      const dropped = new Set<string>();
      for (let grew = true; grew; ) {
        grew = false;
        for (const n of nodes) {
          if (dropped.has(n.name) || !n.parentJobId || !oldJobs.has(n.parentJobId)) continue;
          dropped.add(n.name);
          if (n.jobId) oldJobs.add(n.jobId);
          grew = true;
        }
      }
      const reset = nodes.filter((n) => again.has(n.name) && !dropped.has(n.name));
      // A node a dropped one's parent made cannot be waited for by a kept node (triggers name only existing nodes), so this is safe.
      if (dropped.size) await tx.delete(workflowNodes).where(and(eq(workflowNodes.runId, runId), inArray(workflowNodes.name, [...dropped])));
      if (reset.length) {
        await tx
          .update(workflowNodes)
          .set({ status: "waiting", jobId: null, reason: null, readyAt: null, updatedAt: new Date() })
          .where(and(eq(workflowNodes.runId, runId), inArray(workflowNodes.name, reset.map((n) => n.name))));
      }
      await tx.update(workflowRuns).set({ status: "running", reason: null, finishedAt: null, updatedAt: new Date() }).where(eq(workflowRuns.id, runId));
      await this.events.record(tx, runId, "changed", "running");
      created.push(...(await this.advanceIn(tx, runId)));
      return (await this.getRun(tx, runId))!;
    });
  }

  close(): void {
    this.events.close();
  }
}

export interface RunFilter {
  projectIds?: string[];
  status?: WorkflowRunStatus;
  limit: number;
  offset: number;
}

/** Runs, newest first, with their nodes and the status of each node's job. */
export async function listWorkflowRuns(db: Db, filter: RunFilter): Promise<{ run: WorkflowRun; nodes: WorkflowNode[]; jobStatus: Map<string, JobStatus> }[]> {
  const where: SQL[] = [];
  if (filter.projectIds) {
    if (filter.projectIds.length === 0) return [];
    where.push(inArray(workflowRuns.projectId, filter.projectIds));
  }
  if (filter.status) where.push(eq(workflowRuns.status, filter.status));
  const runs = await db
    .select()
    .from(workflowRuns)
    .where(and(...where))
    .orderBy(desc(workflowRuns.createdAt), desc(workflowRuns.id))
    .limit(filter.limit)
    .offset(filter.offset);
  return withNodes(db, runs);
}

export async function getWorkflowRun(db: Db, id: string) {
  const [run] = await db.select().from(workflowRuns).where(eq(workflowRuns.id, id));
  return run ? (await withNodes(db, [run]))[0] : undefined;
}

async function withNodes(db: Db, runs: WorkflowRun[]) {
  if (runs.length === 0) return [];
  const nodes = await db
    .select()
    .from(workflowNodes)
    .where(inArray(workflowNodes.runId, runs.map((r) => r.id)))
    .orderBy(asc(workflowNodes.createdAt), asc(workflowNodes.depth));
  // The workflow file's order, then triggered nodes as they came (rows of one insert share created_at).
  const position = new Map(runs.map((r) => [r.id, new Map(((r.definition as { jobs?: { name: string }[] }).jobs ?? []).map((j, i) => [j.name, i]))]));
  const rank = (n: WorkflowNode) => position.get(n.runId)?.get(n.name) ?? Number.MAX_SAFE_INTEGER;
  nodes.sort((a, b) => rank(a) - rank(b) || a.createdAt.getTime() - b.createdAt.getTime() || a.depth - b.depth);
  const jobIds = nodes.map((n) => n.jobId).filter((x): x is string => !!x);
  const jobStatus = new Map<string, JobStatus>();
  if (jobIds.length) for (const j of await db.select({ id: jobs.id, status: jobs.status }).from(jobs).where(inArray(jobs.id, jobIds))) jobStatus.set(j.id, j.status);
  const decisions = await decisionsOf(db, runs);
  return runs.map((run) => ({ run, nodes: nodes.filter((n) => n.runId === run.id), jobStatus, decision: decisions.get(run.id) ?? null }));
}

export type ForkPrDecisionRow = typeof forkPrDecisions.$inferSelect;

/** The approval or decline each fork pull request's run is bound to, by run id. */
async function decisionsOf(db: Db, runs: WorkflowRun[]): Promise<Map<string, ForkPrDecisionRow>> {
  const out = new Map<string, ForkPrDecisionRow>();
  const forks = runs.filter((r) => (r.context as unknown as RunContext).forkPr);
  if (forks.length === 0) return out;
  const rows = await db
    .select()
    .from(forkPrDecisions)
    .where(inArray(forkPrDecisions.projectId, [...new Set(forks.map((r) => r.projectId))]));
  for (const run of forks) {
    const f = (run.context as unknown as RunContext).forkPr!;
    const found = rows.find((d) => d.projectId === run.projectId && d.prNumber === f.prNumber && d.headSha === f.headSha && d.baseSha === f.baseSha);
    if (found) out.set(run.id, found);
  }
  return out;
}
