/**
 * The job on the wire: as submitted (POST /api/v1/jobs), as returned (every job the API and the
 * internal worker API answer with), its statuses and which of them are terminal, and the defaults
 * both sides assume. The daemon's routes declare these schemas; the worker and the CLI client
 * read jobs typed by them.
 */
import { Type, type Static } from "@sinclair/typebox";
import { isoTime, literalUnion, Nullable, uuid } from "./schema-parts.ts";
import { StepSchema } from "./step-spec.ts";
import { IMAGE_DESCRIPTION, IMAGE_PATTERN, JOB_NAME_MAX, JOB_NAME_PATTERN, ENV_NAME_PATTERN, MEMORY_PATTERN, NO_NUL_PATTERN, ONE_LINE_PATTERN, SECRET_KEY_PATTERN } from "./patterns.ts";
import { JobStepResultsSchema } from "./step-result.ts";
import { JOB_SOURCE_TYPES } from "./job-values.ts";

export const JOB_STATUSES = ["queued", "running", "success", "failure", "error", "cancelled", "timed_out"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES = ["success", "failure", "error", "cancelled", "timed_out"] as const satisfies readonly JobStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
/** True once a job has ended: it never changes status again. */
export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
/** Allowed moves; the database's trigger (schema/migrations/app/0001) enforces the same table. */
export const JOB_TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  queued: ["running", "cancelled", "error"],
  running: ["success", "failure", "error", "cancelled", "timed_out"],
  success: [],
  failure: [],
  error: [],
  cancelled: [],
  timed_out: [],
};

export { JOB_SOURCE_TYPES, type JobSourceType } from "./job-values.ts";
/** `none`: the job's container gets only a loopback interface. */
export const NETWORK_MODES = ["default", "none"] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];
/** Retries after an infrastructure error (image missing, runtime down), never after the job's own failure. */
export const MAX_RETRIES = 5;
export const MAX_JOB_TIMEOUT = 7 * 24 * 3600;
export const DEFAULT_JOB_TIMEOUT = 3600;
/** The image a worker runs a job in when neither the job nor its project names one. */
export const DEFAULT_IMAGE = "reactorcide/runner:dev";
/** The Corndogs queue job tasks travel on. */
export const JOB_TASK_QUEUE = "reactorcide-jobs";

const literals = literalUnion;

export const SourceSchema = Type.Object(
  {
    type: literals(JOB_SOURCE_TYPES),
    // Both reach the runner through an env file, one line per variable.
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, pattern: ONE_LINE_PATTERN, description: "a git URL or a local path, on one line (up to 2000 characters)" })),
    ref: Type.Optional(Type.String({ minLength: 1, maxLength: 250, pattern: ONE_LINE_PATTERN, description: "a branch, tag or commit, on one line (up to 250 characters)" })),
  },
  { additionalProperties: false },
);
export type Source = Static<typeof SourceSchema>;

export const ResourcesSchema = Type.Object(
  {
    cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024, description: "CPUs, e.g. 1.5" })),
    memory: Type.Optional(Type.String({ pattern: MEMORY_PATTERN, description: "bytes or a size like 512m, 2g" })),
    pids: Type.Optional(Type.Integer({ minimum: 16, maximum: 1_000_000, description: "at least 16 processes" })),
  },
  { additionalProperties: false },
);
export type Resources = Static<typeof ResourcesSchema>;

const jobName = Type.String({ pattern: JOB_NAME_PATTERN, maxLength: JOB_NAME_MAX, description: "letters, digits, . _ - (up to 200)" });
const jobEnv = Type.Record(
  Type.String({ pattern: ENV_NAME_PATTERN }),
  // The worker writes values quoted and escaped (multi-line ones too); NUL cannot reach a process environment.
  Type.String({ maxLength: 65536, pattern: NO_NUL_PATTERN, description: "a value without NUL characters (up to 65536 characters)" }),
  { additionalProperties: false, description: "names are letters, digits and _ (not __proto__)" },
);
const timeout = Type.Integer({ minimum: 1, maximum: MAX_JOB_TIMEOUT, description: "seconds" });
const priority = Type.Integer({ minimum: -1000, maximum: 1000, description: "higher runs first" });
const network = literals(NETWORK_MODES, { description: "none: only a loopback interface" });
const retries = Type.Integer({ minimum: 0, maximum: MAX_RETRIES, description: "retries after an infrastructure error" });
const untrusted = Type.Boolean({ description: "the source is not vetted (a fork's pull request): no process runtime; never lifted once set" });

/** POST /api/v1/jobs (and `reactorcide submit FILE`). */
export const JobSubmitSchema = Type.Object(
  {
    name: jobName,
    // NUL cannot be passed to a process in argv or the environment.
    command: Type.String({ minLength: 1, maxLength: 65536, pattern: "^[^\\u0000]+$", description: "a shell command without NUL characters (up to 65536)" }),
    project: Type.String({ minLength: 1, description: "project id or name" }),
    image: Type.Optional(Type.String({ pattern: IMAGE_PATTERN, description: `${IMAGE_DESCRIPTION}; default: the project's, else the worker's` })),
    env: Type.Optional(jobEnv),
    secrets: Type.Optional(Type.Array(Type.String({ pattern: SECRET_KEY_PATTERN }), { maxItems: 100, description: "names of project secrets to inject" })),
    source: Type.Optional(SourceSchema),
    ci_source: Type.Optional(SourceSchema),
    timeout: Type.Optional(timeout),
    priority: Type.Optional(priority),
    resources: Type.Optional(ResourcesSchema),
    network: Type.Optional(network),
    retries: Type.Optional(retries),
    untrusted: Type.Optional(untrusted),
    parent_job_id: Type.Optional(uuid("a job of the same project")),
  },
  { additionalProperties: false },
);
export type JobSubmit = Static<typeof JobSubmitSchema>;


/** A job as the API returns it (public and worker routes alike). */
export const JobSchema = Type.Object(
  {
    id: uuid("the job's id"),
    project_id: uuid("its project"),
    name: jobName,
    status: literals(JOB_STATUSES),
    priority,
    timeout,
    attempt: Type.Integer({ minimum: 1, description: "1 for the first run, +1 per retry" }),
    retry_of: Nullable(uuid("the first attempt, on retries")),
    image: Nullable(Type.String({ description: "the image asked for or, once a worker took the job, the one it runs in; null: the worker's default" })),
    command: Type.String(),
    env: Type.Record(Type.String(), Type.String()),
    secrets: Type.Array(Type.String(), { description: "names of the project secrets injected" }),
    secret_env: Type.Array(Type.String(), {
      description: "names in env whose values a trigger passed on (they may be its parent's secrets): masked in the log, and shown as *** except to the worker",
    }),
    source: Nullable(SourceSchema),
    ci_source: Nullable(SourceSchema),
    resources: Nullable(ResourcesSchema),
    steps: Nullable(Type.Array(StepSchema, { description: "a job of steps (from a workflow file) instead of one command" })),
    step_results: Nullable({ ...JobStepResultsSchema, description: "what became of each step, as the runner reported it when the job ended (null: not a job of steps, not ended, or a runtime that cannot read the report)" }),
    network,
    retries,
    untrusted,
    exit_code: Nullable(Type.Integer()),
    reason: Nullable(Type.String()),
    worker_id: Nullable(Type.String()),
    parent_job_id: Nullable(uuid("the job that triggered this one")),
    workflow_run_id: Nullable(uuid("its workflow run")),
    log_lines: Type.Integer({ minimum: 0 }),
    created_at: isoTime("submitted"),
    started_at: Nullable(isoTime("a worker took it")),
    finished_at: Nullable(isoTime("it ended")),
  },
  { additionalProperties: false },
);
export type Job = Static<typeof JobSchema>;

/** GET /api/v1/jobs. */
export const JobListSchema = Type.Object(
  { jobs: Type.Array(JobSchema), next_offset: Nullable(Type.Integer({ minimum: 0, description: "pass as offset for the next page; null on the last" })) },
  { additionalProperties: false },
);
export type JobList = Static<typeof JobListSchema>;
