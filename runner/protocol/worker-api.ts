/**
 * The internal API between a worker and the coordinator (/api/v1/internal, worker tokens): the
 * bodies the worker sends and what it gets back. The job itself is JobSchema (job.ts).
 */
import { Type, type Static } from "@sinclair/typebox";
import { IMAGE_PATTERN, WORKER_ID_PATTERN } from "./patterns.ts";
import { JobSchema, TERMINAL_STATUSES } from "./job.ts";
import { literalUnion } from "./schema-parts.ts";
import { TriggerPayloadSchema } from "./trigger.ts";
import { LOG_STREAMS, type LogStreamName } from "./log-line.ts";
import { JobStepResultsSchema } from "./step-result.ts";

export type LogStream = LogStreamName;

const WorkerId = Type.String({ pattern: WORKER_ID_PATTERN, description: "letters, digits, . _ : - (up to 128)" });

/** POST /internal/jobs/{id}/status: queued → running (with the worker and the image it runs), running → an end. */
export const StatusChangeSchema = Type.Object(
  {
    status: literalUnion(["running", ...TERMINAL_STATUSES] as const),
    exit_code: Type.Optional(Type.Integer({ minimum: -1, maximum: 255 })),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    worker_id: Type.Optional(WorkerId),
    image: Type.Optional(Type.String({ pattern: IMAGE_PATTERN, description: "the image the worker runs the job in" })),
    step_results: Type.Optional(JobStepResultsSchema),
  },
  { additionalProperties: false },
);
export type StatusChange = Static<typeof StatusChangeSchema>;

export const LogLineSchema = Type.Object(
  { stream: Type.Optional(literalUnion(LOG_STREAMS)), line: Type.String({ maxLength: 65536 }) },
  { additionalProperties: false },
);
/** Lines one batch may carry (the worker ships a few MB at a time). */
export const LOG_BATCH_MAX_LINES = 100_000;
/**
 * POST /internal/jobs/{id}/logs: lines already masked by the worker, as JSON (a few lines of the
 * worker's own; a job's output goes as packed chunks, log-chunk.ts). With `offset` (how many lines
 * the worker had shipped for this job before this batch, by its own count) a batch sent again, after
 * a lost answer or a cut connection, is recognised and not stored twice; one that would leave a
 * gap is refused (409). Without it the lines are appended at the end (the coordinator's own lines).
 */
export const LogBatchSchema = Type.Object(
  {
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: "lines this job's worker shipped before this batch" })),
    lines: Type.Array(LogLineSchema, { minItems: 1, maxItems: LOG_BATCH_MAX_LINES }),
  },
  { additionalProperties: false },
);
export type LogBatch = Static<typeof LogBatchSchema>;
/** `appended`: lines stored by this request (0 for a batch the coordinator already had); `shipped`: the worker's lines it holds. */
export const LogsAppendedSchema = Type.Object({ appended: Type.Integer(), last_seq: Type.Integer(), shipped: Type.Integer() }, { additionalProperties: false });
export type LogsAppended = Static<typeof LogsAppendedSchema>;

/** GET /internal/jobs/{id}/secrets. */
export const JobSecretsSchema = Type.Object({ secrets: Type.Record(Type.String(), Type.String()) }, { additionalProperties: false });
export type JobSecrets = Static<typeof JobSecretsSchema>;

/** POST /internal/jobs/{id}/token: a job token for a running job. */
export const JobTokenSchema = Type.Object(
  { token: Type.String({ description: "the job's own token: its trigger route and its job only" }), expires_at: Type.String({ description: "when it stops working (ISO 8601)" }) },
  { additionalProperties: false },
);
export type JobToken = Static<typeof JobTokenSchema>;

/**
 * POST /internal/jobs/{id}/start: queued → running for this worker, and in the same round trip what
 * the worker then needs to run it (the job as the worker sees it, its secrets, a job token when
 * asked). 409 when the job is not queued, 404 when it is gone.
 */
export const JobStartSchema = Type.Object(
  {
    worker_id: WorkerId,
    image: Type.String({ pattern: IMAGE_PATTERN, description: "the worker's default image: the job runs in it when the job names none" }),
    token: Type.Optional(Type.Boolean({ description: "also issue a job token (the job gets an address of the coordinator)" })),
  },
  { additionalProperties: false },
);
export type JobStart = Static<typeof JobStartSchema>;
/**
 * `job`: secret_env values whole (the worker injects them and masks them). `secrets_error`: why the
 * secrets could not be read (the job is running and the worker ends it with this reason).
 */
export const JobStartedSchema = Type.Object(
  {
    job: JobSchema,
    secrets: Type.Record(Type.String(), Type.String()),
    secrets_error: Type.Optional(Type.String()),
    token: Type.Optional(JobTokenSchema),
  },
  { additionalProperties: false },
);
export type JobStarted = Static<typeof JobStartedSchema>;

/** POST /internal/workers/heartbeat. */
export const HeartbeatSchema = Type.Object(
  {
    id: WorkerId,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    slots: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
export type Heartbeat = Static<typeof HeartbeatSchema>;
export const HeartbeatAckSchema = Type.Object({ id: Type.String(), ok: Type.Boolean() }, { additionalProperties: false });

/** POST /internal/jobs/{id}/triggers: triggers the worker found in triggers.json or in stdout lines. */
export const TRIGGER_VIAS = ["file", "stdout"] as const;
export const FoundTriggersSchema = Type.Object({ via: literalUnion(TRIGGER_VIAS), payload: TriggerPayloadSchema }, { additionalProperties: false });
export type FoundTriggers = Static<typeof FoundTriggersSchema>;
