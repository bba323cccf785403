/**
 * THE CONTRACT: everything that crosses the line between the runner, the worker, the API and the
 * CLI client is defined in runner/protocol/ and nowhere else. The daemon imports it from this
 * file; the runner imports the module it needs; the runner never imports the daemon.
 *
 *   job.ts          the job as submitted and as returned, statuses (and which are terminal),
 *                   source types, network modes, retries, default image and queue names
 *   worker-api.ts   the internal worker ↔ coordinator bodies (status, logs, secrets, heartbeat)
 *   job-spec.ts     the job file (`run-job FILE`)
 *   job-values.ts   runtimes, source types, env values as strings: no schema, for the runner's start
 *   trigger.ts      the trigger payload (triggers.json, stdout line, POST …/triggers)
 *   workflow-spec.ts, step-spec.ts   workflow files and steps
 *   workflow-run.ts a workflow run as submitted and returned, run and node statuses
 *   step-result.ts  what became of each step (steps.json, and the job's step_results)
 *   runner-env.ts   the REACTORCIDE_* variables a worker hands the runner
 *   env-file.ts     the env-file format (one writer, one reader)
 *   log-line.ts     log streams and how a log line is stored and shown
 *   log-chunk.ts    a shipped log chunk (the stored form, zstd-packed) and its check
 *   api/            the public API's other bodies: the error shape, projects, tokens, secrets,
 *                   session, workflow runs, notifications, deliveries, health, approvals
 *                   (api/secret-limits.ts: the secret length, without the schemas)
 *   patterns.ts     name, id, image and value patterns
 *   schema-parts.ts literal unions, nullable, ISO times, ids
 *   problems.ts     schema problems as "field: what is allowed"
 *   version.ts      the version both executables print
 */
export * from "./patterns.ts";
export * from "./schema-parts.ts";
export * from "./job.ts";
export * from "./worker-api.ts";
export * from "./job-spec.ts";
export * from "./trigger.ts";
export * from "./workflow-spec.ts";
export * from "./workflow-run.ts";
export * from "./step-result.ts";
export * from "./runner-env.ts";
export * from "./env-file.ts";
export * from "./log-line.ts";
export * from "./log-chunk.ts";
export * from "./problems.ts";
export * from "./version.ts";
export * from "./api/error.ts";
export * from "./api/health.ts";
export * from "./api/tokens.ts";
export * from "./api/projects.ts";
export * from "./api/secrets.ts";
export * from "./api/session.ts";
export * from "./api/notifications.ts";
export * from "./api/webhooks.ts";
export * from "./api/approvals.ts";
