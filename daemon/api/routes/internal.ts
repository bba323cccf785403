import { sql } from "drizzle-orm";
import { router } from "../router.ts";
import { workers } from "../../../schema/app/index.ts";
import { TriggerOutcomeSchema } from "../../../runner/protocol/trigger.ts";
import { answers } from "../responses.ts";
import { FoundTriggersSchema, HeartbeatAckSchema, JobStartedSchema, JobStartSchema, JobTokenSchema, LOG_BATCH_MAX_LINES, HeartbeatSchema, isTerminalStatus, JobSchema, JobSecretsSchema, LogBatchSchema, LogsAppendedSchema, StatusChangeSchema } from "../../../runner/protocol/index.ts";
import { appendChunk, appendLogs, getJob, LogGapError, type Job, type LogsStored } from "../../jobs/store.ts";
import { LOG_CHUNK_CONTENT_TYPE, LOG_CHUNK_MAX_LINES, LogChunkQuerySchema, storedLinesProblem } from "../../../runner/protocol/log-chunk.ts";
import { UnpackError, unpackChunk } from "../../storage/log-chunk-codec.ts";
import { queryInt } from "../job-schemas.ts";
import type { JobService } from "../../jobs/service.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import { resolveSecrets } from "../../secrets/store.ts";
import type { MasterKey } from "../../secrets/cipher.ts";
import type { Principal } from "../../auth/tokens.ts";
import { requirePrincipal } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, badRequest, conflict, notFound, uuidOr404 } from "../errors.ts";
import { jobView, workerJobView } from "../../jobs/view.ts";
import { jobLogEnded, logChanged } from "../job-logs.ts";
import { issueJobToken, revokeJobTokens } from "../../auth/job-tokens.ts";
import { TriggerRefused, type WorkflowEngine } from "../../workflows/engine.ts";
import { triggerOutcomeView, triggerRefused } from "./triggers.ts";

/** A batch of log lines may be this large (the worker ships a few MB at a time; other bodies keep the API's limit). */
export const LOG_BATCH_BODY_LIMIT = 8 * 1024 * 1024;
export { LOG_BATCH_MAX_LINES };
/** The longest pause of a log batch waiting for its predecessor (5, 10, ... 640 ms: about 1.3 s in all). */
const GAP_WAIT_MS = 640;
export const isLogBatchPath = (pathname: string) => /^\/api\/v1\/internal\/jobs\/[^/]+\/logs$/.test(pathname);
/** A worker's packed log chunk: read as bytes, never as JSON. */
export const isLogChunkPath = (pathname: string) => /^\/api\/v1\/internal\/jobs\/[^/]+\/log-chunks$/.test(pathname);

/** Why a shipped chunk cannot be stored, or undefined. */
async function chunkProblem(packed: Uint8Array, lines: number): Promise<string | undefined> {
  if (packed.length === 0) return "a zstd-packed chunk of stored-form lines is required";
  try {
    return storedLinesProblem(await unpackChunk(packed), lines);
  } catch (error) {
    if (error instanceof UnpackError) return error.message;
    throw error;
  }
}

/**
 * Stores a worker's lines with `store`. A worker sends a few batches at once; one that overtook
 * its predecessor waits for it a little here rather than being sent again.
 */
async function storeWorkerLines(deps: AppDeps, id: string, store: () => Promise<LogsStored | undefined>) {
  let stored: LogsStored | undefined;
  for (let wait = 5; ; wait *= 2) {
    try {
      stored = await store();
      break;
    } catch (error) {
      if (!(error instanceof LogGapError)) throw error;
      if (wait > GAP_WAIT_MS) throw conflict(error.message, "offset");
      await Bun.sleep(wait);
    }
  }
  if (stored === undefined) throw notFound("job");
  // Lines after the end (a worker's last words after a cancel) join the archived log.
  if (stored.appended > 0) {
    if (isTerminalStatus(stored.status)) await jobLogEnded(deps, id);
    else await logChanged(deps, id);
  }
  return { appended: stored.appended, last_seq: stored.last, shipped: stored.shipped };
}

/**
 * The decrypted secrets of a running job, audited. A master key that changed (or a damaged row) is
 * a 500 `secrets_unreadable` that says so to the worker, whose job shows it, and to the operator.
 */
async function resolveJobSecrets(deps: AppDeps, keys: MasterKey[], job: Job, me: Principal, { auditNone = false } = {}): Promise<Record<string, string>> {
  let values: Record<string, string>;
  try {
    values = await resolveSecrets(deps.db, keys, job.projectId, job.secretRefs);
  } catch (error) {
    const message = `the job's secrets cannot be decrypted with this coordinator's master key (${error instanceof Error ? error.message : String(error)}); was REACTORCIDE_MASTER_KEY or master.key replaced?`;
    console.error(`job ${job.id}: ${message}`);
    throw new ApiError(500, "secrets_unreadable", message);
  }
  // A job that names no secret reads none: nothing to audit on start (the secrets route keeps its record).
  if (auditNone || job.secretRefs.length > 0) await audit(deps.db, me, "secret.resolve", "job", job.id, { keys: Object.keys(values) });
  return values;
}

/** Endpoints for workers only (tokens with the `worker` scope). */
export function internalRoutes(deps: AppDeps, jobs: JobService, workflows: WorkflowEngine) {
  const { db } = deps;
  const keys = [deps.key, ...(deps.oldKeys ?? [])];
  const jobSecrets = (job: Job, me: Principal, options?: { auditNone?: boolean }) => resolveJobSecrets(deps, keys, job, me, options);
  return router("/api/v1/internal")
    .get(
      "/jobs/:id",
      async ({ params, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const job = await getJob(db, uuidOr404(params.id, "job"));
        if (!job) throw notFound("job");
        // The worker injects the values a trigger passed on: it gets them whole (and masks them).
        return workerJobView(job);
      },
      { response: answers({ 200: JobSchema }, 404), detail: { summary: "One job, for the worker that was handed its id by the queue (secret_env values whole)" } },
    )
    .post(
      "/jobs/:id/status",
      async ({ params, body, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const id = uuidOr404(params.id, "job");
        const job =
          body.status === "running"
            ? await jobs.start(id, body.worker_id, body.image)
            : await jobs.finish(id, { status: body.status, exitCode: body.exit_code, reason: body.reason, workerId: body.worker_id, stepResults: body.step_results });
        if (body.status === "running") await logChanged(deps, job.id);
        return jobView(job);
      },
      { body: StatusChangeSchema, response: answers({ 200: JobSchema }, 404, 409), detail: { summary: "Move a job along queued → running → an end status" } },
    )
    .post(
      "/jobs/:id/logs",
      async ({ params, body, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const id = uuidOr404(params.id, "job");
        return storeWorkerLines(deps, id, () => appendLogs(db, id, body.lines, body.offset));
      },
      { body: LogBatchSchema, response: answers({ 200: LogsAppendedSchema }, 404, 409), detail: { summary: "Append a batch of (already masked) log lines; sent again at the same offset, it is stored once" } },
    )
    .post(
      "/jobs/:id/log-chunks",
      async ({ params, query, body, request }) => {
        await requirePrincipal(db, request.headers, "worker");
        const id = uuidOr404(params.id, "job");
        const offset = queryInt(query.offset, "offset", 0, 2 ** 31 - 1, -1);
        const lines = queryInt(query.lines, "lines", 1, LOG_CHUNK_MAX_LINES, -1);
        if (offset < 0 || lines < 0) throw badRequest(`${offset < 0 ? "offset" : "lines"}: is required (a whole number)`, offset < 0 ? "offset" : "lines");
        const packed = body instanceof Uint8Array ? body : new Uint8Array();
        const problem = await chunkProblem(packed, lines);
        if (problem) {
          // The job's absence is the answer a caller can act on first.
          if (!(await getJob(db, id))) throw notFound("job");
          throw badRequest(`body: ${problem}`, "body");
        }
        return storeWorkerLines(deps, id, () => appendChunk(db, id, { packed, lines }, offset));
      },
      {
        query: LogChunkQuerySchema,
        response: answers({ 200: LogsAppendedSchema }, 404, 409),
        detail: {
          summary: `Append a chunk of (already masked) log lines in their stored form, zstd-packed (content-type ${LOG_CHUNK_CONTENT_TYPE}); sent again at the same offset, it is stored once`,
        },
      },
    )
    .post(
      "/jobs/:id/start",
      async ({ params, body, request }) => {
        const me = await requirePrincipal(db, request.headers, "worker");
        const job = await jobs.start(uuidOr404(params.id, "job"), body.worker_id, body.image);
        await logChanged(deps, job.id);
        // Each read after the change that allows it (running), as the separate routes check it.
        const [secrets, token] = await Promise.all([
          jobSecrets(job, me).then(
            (values): { values: Record<string, string>; error?: string } => ({ values }),
            (error: unknown) => {
              // The job is running now: the worker ends it with this reason, as with the secrets route's 500.
              if (error instanceof ApiError && error.code === "secrets_unreadable") return { values: {}, error: error.message };
              throw error;
            },
          ),
          body.token ? issueJobToken(db, job) : undefined,
        ]);
        return {
          job: workerJobView(job),
          secrets: secrets.values,
          ...(secrets.error === undefined ? {} : { secrets_error: secrets.error }),
          ...(token ? { token: { token: token.token, expires_at: token.expiresAt.toISOString() } } : {}),
        };
      },
      {
        body: JobStartSchema,
        response: answers({ 200: JobStartedSchema }, 404, 409),
        detail: { summary: "queued → running for this worker, answered with the job (secret_env values whole), its secrets and a job token if asked: one round trip for the worker" },
      },
    )
    .get(
      "/jobs/:id/secrets",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "worker");
        const job = await getJob(db, uuidOr404(params.id, "job"));
        if (!job) throw notFound("job");
        // Only while the job runs: a finished or waiting job has no use for its secrets.
        if (job.status !== "running") throw conflict(`job is ${job.status}; secrets are given out only while it runs`, "status");
        return { secrets: await jobSecrets(job, me, { auditNone: true }) };
      },
      { response: answers({ 200: JobSecretsSchema }, 404, 409), detail: { summary: "The job's secrets, decrypted, for injection (worker token, running job only)" } },
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
      { response: answers({ 200: JobTokenSchema }, 404, 409), detail: { summary: "A job token for a running job: its trigger route and its own job only, until it ends" } },
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
        body: FoundTriggersSchema,
        response: answers({ 201: TriggerOutcomeSchema }, 404, 422),
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
      { body: HeartbeatSchema, response: answers({ 200: HeartbeatAckSchema }), detail: { summary: "A worker says it is alive" } },
    );
}
