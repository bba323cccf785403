import { eq, max, or } from "drizzle-orm";
import { router } from "../router.ts";
import { jobs } from "../../../schema/app/index.ts";
import { DEFAULT_JOB_TIMEOUT, isTerminalStatus, JobListSchema, JobSchema, JobSubmitSchema } from "../../../runner/protocol/index.ts";
import { getJob, insertJob, listJobs, transitionJob, type Job } from "../../jobs/store.ts";
import { readJobLog } from "../../storage/job-logs.ts";
import { LogWakeups } from "../../storage/log-notify.ts";
import { jobLogEnded } from "../job-logs.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import { existingSecretKeys } from "../../secrets/store.ts";
import { parseMemory } from "../../worker/settings.ts";
import type { Principal } from "../../auth/tokens.ts";
import { readableProjectIds, requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, badRequest, conflict, notFound, uuidOr404 } from "../errors.ts";
import { JobListQuery, LogQuery, queryInt } from "../job-schemas.ts";
import { jobView } from "../job-view.ts";
import { followLogs, textLogResponse } from "../log-stream.ts";
import { revokeJobTokens } from "../../auth/job-tokens.ts";
import type { WorkflowEngine } from "../../workflows/engine.ts";

export function jobRoutes(deps: AppDeps, metrics: Metrics, workflows: WorkflowEngine) {
  const { db, queue } = deps;
  const wakeups = new LogWakeups(deps.sql);

  /** The job if the caller holds `min` on its project; 404 when they cannot see it. */
  async function jobFor(me: Principal, rawId: string, min: "read" | "write"): Promise<Job> {
    const job = await getJob(db, uuidOr404(rawId, "job"));
    if (!job) throw notFound("job");
    try {
      await requireProjectRole(db, me, job.projectId, min);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw notFound("job");
      throw error;
    }
    return job;
  }

  return router("/api/v1/jobs")
    .post(
      "/",
      async ({ body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, body.project, "write", "project");
        // One argument of a process may be 128 KiB; 65536 characters of UTF-8 can be more.
        if (Buffer.byteLength(body.command) > 65536) throw badRequest("command: must be at most 65536 bytes of UTF-8", "command");
        // Neither the job nor its project names one: the worker's --default-image applies, and
        // the job shows it once a worker took it.
        const image = body.image ?? project.defaultImage ?? null;
        // Refused here rather than when a worker takes the job (a size below the container minimum).
        if (body.resources?.memory !== undefined) {
          try {
            parseMemory(body.resources.memory);
          } catch (error) {
            throw badRequest((error as Error).message, "resources.memory");
          }
        }
        const wanted = [...new Set(body.secrets ?? [])];
        const known = await existingSecretKeys(db, project.id, wanted);
        const missing = wanted.filter((k) => !known.has(k));
        if (missing.length) throw badRequest(`secrets: project ${project.name} has no secret ${missing.join(", ")}`, "secrets");
        const parent = body.parent_job_id ? await getJob(db, body.parent_job_id) : undefined;
        if (body.parent_job_id && (!parent || parent.projectId !== project.id)) throw badRequest("parent_job_id: no such job in this project", "parent_job_id");
        const job = await insertJob(db, {
          projectId: project.id,
          name: body.name,
          command: body.command,
          image,
          env: body.env ?? {},
          secretRefs: wanted,
          source: body.source ?? null,
          ciSource: body.ci_source ?? (project.ciSourceUrl ? { type: "git", url: project.ciSourceUrl, ref: project.ciSourceRef ?? undefined } : null),
          timeoutSeconds: body.timeout ?? DEFAULT_JOB_TIMEOUT,
          priority: body.priority ?? 0,
          resources: body.resources ?? null,
          network: body.network ?? "default",
          retries: body.retries ?? 0,
          // Trust flows down: a child of an untrusted job is untrusted, whatever it asks for.
          untrusted: body.untrusted === true || parent?.untrusted === true,
          parentJobId: body.parent_job_id ?? null,
          submittedBy: me.userId,
        });
        await queue.enqueue(job);
        metrics.jobsSubmitted.inc();
        set.status = 201;
        return jobView(job);
      },
      { body: JobSubmitSchema, response: { 201: JobSchema }, detail: { summary: "Submit a job; it answers 201 with the queued job" } },
    )
    .get(
      "/",
      async ({ query, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        let projectIds = await readableProjectIds(db, me);
        if (query.project) projectIds = [(await requireProjectRole(db, me, query.project, "read", "project")).id];
        const limit = queryInt(query.limit, "limit", 1, 200, 50);
        const offset = queryInt(query.offset, "offset", 0, 1e9, 0);
        const rows = await listJobs(db, { projectIds, status: query.status, name: query.name, limit: limit + 1, offset });
        return {
          jobs: rows.slice(0, limit).map(jobView),
          next_offset: rows.length > limit ? offset + limit : null,
        };
      },
      { query: JobListQuery, response: { 200: JobListSchema }, detail: { summary: "Jobs you can read, newest first, with filters and pagination" } },
    )
    .get(
      "/:id",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, ["api", "job"]);
        if (me.jobId !== undefined) {
          // A job token reads its own job only.
          const own = me.jobId === params.id ? await getJob(db, me.jobId) : undefined;
          if (!own) throw notFound("job");
          return jobView(own);
        }
        return jobView(await jobFor(me, params.id, "read"));
      },
      { response: { 200: JobSchema }, detail: { summary: "One job" } },
    )
    .post(
      "/:id/cancel",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const job = await jobFor(me, params.id, "write");
        const result = await transitionJob(db, job.id, "cancelled", { reason: `cancelled by ${me.userName}` });
        if (!result.ok) throw conflict(`job is already ${result.current ?? "gone"}`, "status");
        await queue.cancel(result.job);
        await revokeJobTokens(db, job.id);
        await jobLogEnded(deps, job.id);
        await workflows.jobEnded(job.id);
        await audit(db, me, "job.cancel", "job", job.id);
        return jobView(result.job);
      },
      { response: { 200: JobSchema }, detail: { summary: "Cancel a queued or running job" } },
    )
    .post(
      "/:id/retry",
      async ({ params, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const job = await jobFor(me, params.id, "write");
        if (!isTerminalStatus(job.status)) throw conflict(`job is still ${job.status}; only an ended job can be retried`, "status");
        const first = job.retryOf ?? job.id;
        const [latest] = await db
          .select({ attempt: max(jobs.attempt) })
          .from(jobs)
          .where(or(eq(jobs.id, first), eq(jobs.retryOf, first)));
        const retry = await insertJob(db, {
          projectId: job.projectId,
          name: job.name,
          command: job.command,
          image: job.image,
          env: job.env,
          secretRefs: job.secretRefs,
          source: job.source,
          ciSource: job.ciSource,
          timeoutSeconds: job.timeoutSeconds,
          priority: job.priority,
          resources: job.resources,
          network: job.network,
          retries: job.retries,
          untrusted: job.untrusted,
          parentJobId: job.parentJobId,
          workflowRunId: job.workflowRunId,
          attempt: (latest?.attempt ?? job.attempt) + 1,
          retryOf: first,
          submittedBy: me.userId,
        });
        await queue.enqueue(retry);
        await audit(db, me, "job.retry", "job", retry.id, { retry_of: first });
        set.status = 201;
        return jobView(retry);
      },
      { response: { 201: JobSchema }, detail: { summary: "Run an ended job again as a new attempt linked to the first" } },
    )
    .get(
      "/:id/logs",
      async ({ params, query, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const job = await jobFor(me, params.id, "read");
        // An SSE client sends back the id of the last event it saw: one of our line numbers.
        const lastEventId = request.headers.get("last-event-id")?.trim() || undefined;
        if (lastEventId !== undefined && !/^[0-9]{1,9}$/.test(lastEventId)) throw badRequest("Last-Event-ID: must be a line number from 0 to 999999999", "Last-Event-ID");
        const after = queryInt(query.after, "after", 0, 1e9, lastEventId === undefined ? 0 : Number(lastEventId));
        if (query.follow === "true") {
          const stillAllowed = async () => {
            try {
              // Fresh headers: the principal cached for this request is the one being rechecked.
              await jobFor(await requirePrincipal(db, new Headers(request.headers), "api"), job.id, "read");
              return true;
            } catch (error) {
              if (error instanceof ApiError) return false;
              throw error;
            }
          };
          const sources = { db, sql: deps.sql, archive: deps.archive, wakeups, pollMs: deps.logPollMs ?? 1000 };
          return followLogs({ ...sources, stillAllowed, recheckMs: deps.accessRecheckMs }, job.id, after, request.signal);
        }
        const limit = queryInt(query.limit, "limit", 1, 1e9, Number.POSITIVE_INFINITY);
        const lines = readJobLog(deps.sql, deps.archive, job.id, after, isTerminalStatus(job.status), limit);
        return textLogResponse(lines, request.signal);
      },
      { query: LogQuery, detail: { summary: "The job's log as text; ?follow=true streams it (SSE) until the job ends" } },
    );
}
