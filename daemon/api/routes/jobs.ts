import { router } from "../router.ts";
import { isTerminalStatus, JobListSchema, JobLogTextSchema, JobSchema, JobSubmitSchema } from "../../../runner/protocol/index.ts";
import { getJob, listJobs, type Job } from "../../jobs/store.ts";
import type { JobService } from "../../jobs/service.ts";
import { readJobLog } from "../../storage/job-logs.ts";
import { LogWakeups } from "../../storage/log-notify.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import type { Principal } from "../../auth/tokens.ts";
import { readableProjectIds, requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError, badRequest, notFound, uuidOr404 } from "../errors.ts";
import { JobListQuery, LogQuery, queryInt } from "../job-schemas.ts";
import { jobView } from "../../jobs/view.ts";
import { followLogs, textLogResponse } from "../log-stream.ts";
import { answers } from "../responses.ts";

export function jobRoutes(deps: AppDeps, metrics: Metrics, service: JobService) {
  const { db } = deps;
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
        const job = await service.submit(project, body, me.userId);
        metrics.jobsSubmitted.inc();
        set.status = 201;
        return jobView(job);
      },
      { body: JobSubmitSchema, response: answers({ 201: JobSchema }, 404, 409), detail: { summary: "Submit a job; it answers 201 with the queued job" } },
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
      { query: JobListQuery, response: answers({ 200: JobListSchema }, 404), detail: { summary: "Jobs you can read, newest first, with filters and pagination" } },
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
      { response: answers({ 200: JobSchema }, 404), detail: { summary: "One job" } },
    )
    .post(
      "/:id/cancel",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const job = await jobFor(me, params.id, "write");
        const cancelled = await service.cancel(job, `cancelled by ${me.userName}`);
        await audit(db, me, "job.cancel", "job", job.id);
        return jobView(cancelled);
      },
      { response: answers({ 200: JobSchema }, 404, 409), detail: { summary: "Cancel a queued or running job" } },
    )
    .post(
      "/:id/retry",
      async ({ params, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const job = await jobFor(me, params.id, "write");
        const retry = await service.retry(job, me.userId);
        await audit(db, me, "job.retry", "job", retry.id, { retry_of: retry.retryOf });
        set.status = 201;
        return jobView(retry);
      },
      { response: answers({ 201: JobSchema }, 404, 409), detail: { summary: "Run an ended job again as a new attempt linked to the first" } },
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
      { query: LogQuery, response: answers({ 200: JobLogTextSchema }, 404), detail: { summary: "The job's log as text; ?follow=true streams it (SSE) until the job ends" } },
    );
}
