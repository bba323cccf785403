import { sql } from "drizzle-orm";
import { t } from "elysia";
import { router } from "../router.ts";
import { JOB_STATUSES, LOG_STREAMS, TERMINAL_STATUSES, workers } from "../../../schema/app/index.ts";
import { appendLogs, claimNextJob, getJob, transitionJob } from "../../jobs/store.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import { resolveSecrets } from "../../secrets/store.ts";
import { requirePrincipal } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, conflict, notFound, uuidOr404 } from "../errors.ts";
import { jobView } from "../job-view.ts";
import { jobLogEnded, logChanged } from "../job-logs.ts";
import { TriggerPayloadSchema } from "../../../runner/protocol/trigger.ts";
import { issueJobToken, revokeJobTokens } from "../../auth/job-tokens.ts";
import { TriggerRefused, type WorkflowEngine } from "../../workflows/engine.ts";
import { triggerOutcomeView, triggerRefused } from "./triggers.ts";

/** A batch of log lines may be this large (the worker ships a few MB at a time; other bodies keep the API's limit). */
export const LOG_BATCH_BODY_LIMIT = 8 * 1024 * 1024;
export const LOG_BATCH_MAX_LINES = 100_000;
export const isLogBatchPath = (pathname: string) => /^\/api\/v1\/internal\/jobs\/[^/]+\/logs$/.test(pathname);

const WorkerId = t.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$" });
const Claim = t.Object({ worker_id: WorkerId }, { additionalProperties: false });
const StatusChange = t.Object(
  {
    status: t.Union(JOB_STATUSES.filter((s) => s !== "queued").map((s) => t.Literal(s))),
    exit_code: t.Optional(t.Integer({ minimum: -1, maximum: 255 })),
    reason: t.Optional(t.String({ maxLength: 2000 })),
    worker_id: t.Optional(WorkerId),
  },
  { additionalProperties: false },
);
const LogBatch = t.Object(
  {
    lines: t.Array(
      t.Object(
        { stream: t.Optional(t.Union(LOG_STREAMS.map((s) => t.Literal(s)))), line: t.String({ maxLength: 65536 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: LOG_BATCH_MAX_LINES },
    ),
  },
  { additionalProperties: false },
);
const Heartbeat = t.Object(
  {
    id: WorkerId,
    name: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
    slots: t.Optional(t.Integer({ minimum: 1, maximum: 1024 })),
    labels: t.Optional(t.Record(t.String(), t.String())),
  },
  { additionalProperties: false },
);

/** Endpoints for workers only (tokens with the `worker` scope). */
export function internalRoutes(deps: AppDeps, metrics: Metrics, workflows: WorkflowEngine) {
  const { db } = deps;
  const keys = [deps.key, ...(deps.oldKeys ?? [])];
  return router("/api/v1/internal")
    .post(
      "/jobs/claim",
      async ({ body, request, set }) => {
        await requirePrincipal(db, request.headers, "worker");
        const job = await claimNextJob(db, body.worker_id);
        if (!job) {
          set.status = 204;
          return null;
        }
        return jobView(job);
      },
      { body: Claim, detail: { summary: "Take the most urgent queued job (Postgres queue); 204 when none" } },
    )
    .get(
      "/jobs/:id",
      async ({ params, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const job = await getJob(db, uuidOr404(params.id, "job"));
        if (!job) throw notFound("job");
        return jobView(job);
      },
      { detail: { summary: "One job, for the worker that was handed its id by the queue" } },
    )
    .post(
      "/jobs/:id/status",
      async ({ params, body, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const id = uuidOr404(params.id, "job");
        const result = await transitionJob(db, id, body.status, {
          exitCode: body.exit_code,
          reason: body.reason,
          workerId: body.worker_id,
        });
        if (!result.ok) {
          if (!result.current) throw notFound("job");
          throw conflict(`job is ${result.current}; it cannot become ${body.status}`, "status");
        }
        const { job } = result;
        if (TERMINAL_STATUSES.includes(job.status)) {
          await revokeJobTokens(db, job.id);
          await jobLogEnded(deps, job.id);
          // Its workflow run moves on (a crash before this is caught up by recover() at start).
          await workflows.jobEnded(job.id).catch((error) => console.error(`workflow advance after job ${job.id}: ${error instanceof Error ? error.message : error}`));
        } else await logChanged(deps, job.id);
        if (job.startedAt && job.finishedAt) {
          metrics.jobDuration.observe({ status: job.status }, (job.finishedAt.getTime() - job.startedAt.getTime()) / 1000);
        }
        return jobView(job);
      },
      { body: StatusChange, detail: { summary: "Move a job along queued → running → an end status" } },
    )
    .post(
      "/jobs/:id/logs",
      async ({ params, body, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const id = uuidOr404(params.id, "job");
        const stored = await appendLogs(db, id, body.lines);
        if (stored === undefined) throw notFound("job");
        // Lines after the end (a worker's last words after a cancel) join the archived log.
        if (TERMINAL_STATUSES.includes(stored.status)) await jobLogEnded(deps, id);
        else await logChanged(deps, id);
        return { appended: body.lines.length, last_seq: stored.last };
      },
      { body: LogBatch, detail: { summary: "Append a batch of (already masked) log lines" } },
    )
    .get(
      "/jobs/:id/secrets",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "worker");
        const job = await getJob(db, uuidOr404(params.id, "job"));
        if (!job) throw notFound("job");
        // Only while the job runs: a finished or waiting job has no use for its secrets.
        if (job.status !== "running") throw conflict(`job is ${job.status}; secrets are given out only while it runs`, "status");
        let values: Record<string, string>;
        try {
          values = await resolveSecrets(db, keys, job.projectId, job.secretRefs);
        } catch (error) {
          // A master key that changed (or a damaged row): say so to the worker, whose job shows it, and to the operator.
          const message = `the job's secrets cannot be decrypted with this coordinator's master key (${error instanceof Error ? error.message : String(error)}); was REACTORCIDE_MASTER_KEY or master.key replaced?`;
          console.error(`job ${job.id}: ${message}`);
          throw new ApiError(500, "secrets_unreadable", message);
        }
        await audit(db, me, "secret.resolve", "job", job.id, { keys: Object.keys(values) });
        return { secrets: values };
      },
      { detail: { summary: "The job's secrets, decrypted, for injection (worker token, running job only)" } },
    )
    .post(
      "/jobs/:id/token",
      async ({ params, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const job = await getJob(db, uuidOr404(params.id, "job"));
        if (!job) throw notFound("job");
        if (job.status !== "running") throw conflict(`job is ${job.status}; a job token is given out only while it runs`, "status");
        const { token, expiresAt } = await issueJobToken(db, job);
        return { token, expires_at: expiresAt.toISOString() };
      },
      { detail: { summary: "A job token for a running job: its trigger route and its own job only, until it ends" } },
    )
    .post(
      "/jobs/:id/triggers",
      async ({ params, body, request, set }) => {
        await requirePrincipal(db, request.headers, "worker");
        const id = uuidOr404(params.id, "job");
        if (!(await getJob(db, id))) throw notFound("job");
        try {
          const outcome = await workflows.extendFromTrigger(id, body.payload, body.via);
          set.status = 201;
          return triggerOutcomeView(outcome);
        } catch (error) {
          if (error instanceof TriggerRefused) throw triggerRefused(error);
          throw error;
        }
      },
      {
        body: t.Object({ via: t.Union([t.Literal("file"), t.Literal("stdout")]), payload: TriggerPayloadSchema }, { additionalProperties: false }),
        detail: { summary: "Triggers the worker found (triggers.json after the job, ::reactorcide::trigger:: lines); de-duplicated by operation_id" },
      },
    )
    .post(
      "/workers/heartbeat",
      async ({ body, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        await db
          .insert(workers)
          .values({ id: body.id, name: body.name ?? body.id, slots: body.slots ?? 1, labels: body.labels ?? {} })
          .onConflictDoUpdate({
            target: workers.id,
            set: { lastSeenAt: sql`now()`, slots: body.slots ?? 1, labels: body.labels ?? {}, name: body.name ?? body.id },
          });
        return { id: body.id, ok: true };
      },
      { body: Heartbeat, detail: { summary: "A worker says it is alive" } },
    );
}
