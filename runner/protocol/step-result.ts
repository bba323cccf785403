/**
 * What became of each step of a job of steps. Two forms of one record:
 *   StepsReportSchema   <workspace>/steps.json as the runner writes it (runner/steps/summary.ts),
 *                       camelCase as job code sees it through runner/lib.ts (runStep(), hooks);
 *   JobStepResultSchema the API's form (snake_case): the worker sends it with the job's end
 *                       (POST /internal/jobs/{id}/status) and every job response carries it.
 * toJobStepResults is the one mapping from the first to the second.
 */
import { Type, type Static } from "@sinclair/typebox";
import { NAME_PATTERN } from "./patterns.ts";
import { ProtocolError, schemaProblems } from "./problems.ts";
import { isoTime, literalUnion, Nullable } from "./schema-parts.ts";

/** <workspace>/steps.json: written by the runner after a job of steps, read by the worker. */
export const STEPS_FILE = "steps.json";

export const STEP_STATUSES = ["success", "failure", "skipped", "cancelled"] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
/** Steps a job may have (StepsSchema's maxItems). */
export const MAX_STEPS = 500;

const stepStatus = literalUnion(STEP_STATUSES);
const stepName = Type.String({ pattern: NAME_PATTERN, maxLength: 100, description: "the step's name" });
const reason = Type.String({ maxLength: 2000 });

/** One step in steps.json. */
export const StepReportSchema = Type.Object(
  {
    name: stepName,
    status: stepStatus,
    exitCode: Nullable(Type.Integer()),
    durationMs: Type.Integer({ minimum: 0 }),
    startedAt: Nullable(Type.String()),
    timedOut: Type.Boolean(),
    /** Failed, but `continue_on_error` kept the job going. */
    continuedOnError: Type.Boolean(),
    reason: Type.Optional(reason),
  },
  { additionalProperties: false },
);
export type StepResult = Static<typeof StepReportSchema>;

/** <workspace>/steps.json. */
export const StepsReportSchema = Type.Object(
  { success: Type.Boolean(), durationMs: Type.Integer({ minimum: 0 }), steps: Type.Array(StepReportSchema, { maxItems: MAX_STEPS }) },
  { additionalProperties: false },
);
export type StepsReport = Static<typeof StepsReportSchema>;

/** One step of a job as the API shows it. */
export const JobStepResultSchema = Type.Object(
  {
    name: stepName,
    status: stepStatus,
    exit_code: Type.Union([Type.Integer(), Type.Null()], { description: "null when it never ran (skipped) or was stopped before it started" }),
    duration_ms: Type.Integer({ minimum: 0 }),
    started_at: Nullable(isoTime("the step started")),
    timed_out: Type.Boolean(),
    continued_on_error: Type.Boolean({ description: "failed, but continue_on_error kept the job going" }),
    reason: Nullable(reason),
  },
  { additionalProperties: false },
);
export type JobStepResult = Static<typeof JobStepResultSchema>;
export const JobStepResultsSchema = Type.Array(JobStepResultSchema, { maxItems: MAX_STEPS });

export function toJobStepResults(report: StepsReport): JobStepResult[] {
  return report.steps.map((s) => ({
    name: s.name,
    status: s.status,
    exit_code: s.exitCode,
    duration_ms: s.durationMs,
    started_at: s.startedAt,
    timed_out: s.timedOut,
    continued_on_error: s.continuedOnError,
    reason: s.reason ?? null,
  }));
}

/** steps.json read back (the job could have written anything there): every problem named. */
export function parseStepsReport(input: unknown): StepsReport {
  const problems = schemaProblems(StepsReportSchema, input);
  if (problems.length) throw new ProtocolError("steps report", problems);
  return input as StepsReport;
}
