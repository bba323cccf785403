/**
 * The trigger payload: how a job asks for follow-up jobs. The same JSON travels three ways:
 * the file <workspace>/triggers.json, one stdout line `::reactorcide::trigger::<json>`, and the
 * body of POST /api/v1/jobs/:id/triggers. The daemon imports these schemas to validate all three.
 *
 * `operation_id` names one set of pending triggers: the file keeps one id while jobs are appended,
 * each stdout line carries the id of the file it was appended to, and the POST sends the whole
 * file. A consumer that sees the same operation id twice (POST, then the file or stdout lines)
 * must submit each (operation_id, job_name) once.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ProtocolError, schemaProblems } from "./problems.ts";
import { StepsSchema } from "./step-spec.ts";
import { ENV_NAME_PATTERN, JOB_NAME_PATTERN, UUID_PATTERN } from "./patterns.ts";
import { jobEnvStrings, JobSpecSchema, type JobSpec } from "./job-spec.ts";

export const TRIGGER_CONDITIONS = ["all_success", "any_failed", "always"] as const;
export type TriggerCondition = (typeof TRIGGER_CONDITIONS)[number];
export const TRIGGER_LINE_PREFIX = "::reactorcide::trigger::";
export const TRIGGERS_FILE = "triggers.json";

const ENV_NAME = ENV_NAME_PATTERN;
const UUID = UUID_PATTERN;
const NAME = JOB_NAME_PATTERN;

const optionalText = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

export const TriggerJobSchema = Type.Object(
  {
    job_name: Type.String({ pattern: NAME, maxLength: 200, description: "letters, digits, . _ -" }),
    depends_on: Type.Optional(Type.Array(Type.String({ pattern: NAME, maxLength: 200 }))),
    condition: Type.Optional(Type.Union(TRIGGER_CONDITIONS.map((c) => Type.Literal(c)))),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: ENV_NAME }), Type.String(), {
        additionalProperties: false,
        description: "names are letters, digits and _, values strings",
      }),
    ),
    job_command: optionalText("the command to run"),
    // An extension of the documented format: a job with steps (eval of a workflow job with steps).
    steps: Type.Optional(StepsSchema),
    container_image: optionalText("an image reference"),
    source_type: optionalText("git, copy, tarball or none"),
    source_url: optionalText("where the source comes from"),
    source_ref: optionalText("branch, tag or commit"),
    ci_source_type: optionalText("git, copy, tarball or none"),
    ci_source_url: optionalText("where the trusted job code comes from"),
    ci_source_ref: optionalText("branch, tag or commit"),
    // At most the parent's secrets: a follow-up job may get fewer, never one its parent lacked.
    secrets: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 200 }), { maxItems: 100, description: "names of the parent's secrets this job gets (default: all of them)" })),
    priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })),
    // Set by eval: the workflow file the job comes from. An event's eval job starts one run per
    // workflow named; any other job's trigger naming one is refused.
    workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: "^[^\\x00-\\x1f]+$", description: "the workflow run this job joins (set by eval)" })),
    timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600, description: "seconds" })),
  },
  { additionalProperties: false },
);
export type TriggerJob = Static<typeof TriggerJobSchema>;

export const TriggerPayloadSchema = Type.Object(
  {
    type: Type.Literal("trigger_job"),
    operation_id: Type.String({ pattern: UUID, description: "a UUID" }),
    jobs: Type.Array(TriggerJobSchema, { maxItems: 1000 }),
  },
  { additionalProperties: false },
);
export type TriggerPayload = Static<typeof TriggerPayloadSchema>;

/** The answer to a trigger POST (public and worker routes): the run the jobs joined, and what was new. */
export const TriggerOutcomeSchema = Type.Object(
  {
    workflow_run_id: Type.String({ pattern: UUID, description: "the workflow run the follow-up jobs belong to" }),
    created: Type.Array(Type.String(), { description: "names of the nodes created now" }),
    duplicates: Type.Integer({ minimum: 0, description: "jobs already received by another path (same operation_id and job_name)" }),
  },
  { additionalProperties: false },
);
export type TriggerOutcome = Static<typeof TriggerOutcomeSchema>;

/**
 * One trigger job from a document that is either a trigger job (`job_name`, `job_command`, ...) or
 * a job file (`name`, `command`, `image`, `source`, ..., runner/protocol/job-spec.ts), so one file
 * can be both run (`run-job`) and triggered. A job file's fields a trigger cannot carry are refused
 * naming them. Throws ProtocolError.
 */
export function triggerJobOf(doc: unknown, root = "job"): TriggerJob {
  if (!doc || typeof doc !== "object" || Array.isArray(doc) || "job_name" in doc || !("name" in doc)) return validateTriggerJob(doc, root);
  const spec = parseJobSpecAt(doc, root);
  if (spec.resources) throw new ProtocolError("trigger job", [{ field: `${root}.resources`, message: "a trigger cannot set resources (the worker's limits apply); remove it to trigger this job file" }]);
  const job: Record<string, unknown> = { job_name: spec.name };
  if (spec.command !== undefined) job.job_command = spec.command;
  if (spec.steps !== undefined) job.steps = spec.steps;
  if (spec.image !== undefined) job.container_image = spec.image;
  if (spec.env !== undefined) job.env = jobEnvStrings(spec.env);
  if (spec.timeout !== undefined) job.timeout = spec.timeout;
  for (const [prefix, source] of [["source", spec.source], ["ci_source", spec.ci_source]] as const) {
    if (!source) continue;
    job[`${prefix}_type`] = source.type;
    if (source.url !== undefined) job[`${prefix}_url`] = source.url;
    if (source.ref !== undefined) job[`${prefix}_ref`] = source.ref;
  }
  return validateTriggerJob(job, root);
}

function parseJobSpecAt(doc: object, root: string): JobSpec {
  const problems = schemaProblems(JobSpecSchema, doc, root);
  if (problems.length) throw new ProtocolError("trigger job (a job file)", problems);
  return doc as JobSpec;
}

/** Checks one trigger job; throws ProtocolError naming every bad field (`jobs[0].colour`). */
export function validateTriggerJob(job: unknown, root = "job"): TriggerJob {
  const problems = schemaProblems(TriggerJobSchema, job, root);
  if (problems.length) throw new ProtocolError("trigger job", problems);
  return job as TriggerJob;
}

/** Checks a whole payload (file contents, stdout line or POST body). */
export function parseTriggerPayload(input: unknown): TriggerPayload {
  const problems = schemaProblems(TriggerPayloadSchema, input);
  if (problems.length) throw new ProtocolError("trigger payload", problems);
  return input as TriggerPayload;
}

/** The stdout form: one line, no newline inside (JSON.stringify escapes them). */
export function triggerLine(payload: TriggerPayload): string {
  return TRIGGER_LINE_PREFIX + JSON.stringify(payload);
}

/**
 * Reads a trigger line back; null when the line is not one. A line that claims to be one but
 * does not validate throws, so a typo in job code is reported rather than silently ignored.
 */
export function parseTriggerLine(line: string): TriggerPayload | null {
  const text = line.replace(/\r?\n$/, "");
  if (!text.startsWith(TRIGGER_LINE_PREFIX)) return null;
  let json: unknown;
  try {
    json = JSON.parse(text.slice(TRIGGER_LINE_PREFIX.length));
  } catch (error) {
    throw new ProtocolError("trigger line", [{ field: "(line)", message: `not JSON: ${(error as Error).message}` }]);
  }
  return parseTriggerPayload(json);
}
