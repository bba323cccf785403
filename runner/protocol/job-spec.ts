/**
 * The job file (`run-job FILE`, YAML or JSON); its source and resources are the API's (job.ts).
 * Unknown fields are errors that name the field. `steps` (runner/protocol/step-spec.ts) may
 * replace `command`.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ProtocolError, schemaProblems } from "./problems.ts";
import { StepsSchema } from "./step-spec.ts";
import { ResourcesSchema, SourceSchema, type Resources, type Source } from "./job.ts";
import { ENV_NAME_PATTERN, IMAGE_DESCRIPTION, IMAGE_PATTERN, JOB_NAME_MAX, JOB_NAME_PATTERN } from "./patterns.ts";

export { CONTAINER_RUNTIMES, jobEnvStrings, type ContainerRuntime } from "./job-values.ts";

/** The job file's source and resources are the API's (job.ts). */
export const SourceSpecSchema = SourceSchema;
export type SourceSpec = Source;
export { ResourcesSchema, type Resources };

export const JobSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: JOB_NAME_PATTERN, maxLength: JOB_NAME_MAX, description: "letters, digits, . _ -" })),
    image: Type.Optional(Type.String({ pattern: IMAGE_PATTERN, description: IMAGE_DESCRIPTION })),
    command: Type.Optional(Type.String({ minLength: 1, description: "a shell command" })),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        additionalProperties: false,
        description: "names are letters, digits and _; values strings, numbers or booleans",
      }),
    ),
    source: Type.Optional(SourceSpecSchema),
    ci_source: Type.Optional(SourceSpecSchema),
    timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600, description: "seconds" })),
    resources: Type.Optional(ResourcesSchema),
    // Instead of `command`: steps sharing the workspace (runner/steps; references and `if:` are
    // checked by stepProblems in runner/steps/job.ts).
    steps: Type.Optional(StepsSchema),
  },
  { additionalProperties: false },
);
export type JobSpec = Static<typeof JobSpecSchema>;

/** Checks a parsed job document; throws ProtocolError naming every bad field. */
export function parseJobSpec(input: unknown): JobSpec {
  const problems = schemaProblems(JobSpecSchema, input);
  if (problems.length) throw new ProtocolError("job", problems);
  return input as JobSpec;
}
