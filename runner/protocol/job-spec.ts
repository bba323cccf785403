/**
 * The job file (`run-job FILE`, YAML or JSON) and the job the daemon stores: one schema for both.
 * Unknown fields are errors that name the field. `steps` (runner/protocol/step-spec.ts) may
 * replace `command`.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ProtocolError, schemaProblems } from "./problems.ts";
import { StepsSchema } from "./step-spec.ts";

export const JOB_SOURCE_TYPES = ["git", "copy", "tarball", "none"] as const;
export const CONTAINER_RUNTIMES = ["docker", "nerdctl", "podman"] as const;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];

export const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";
/** Docker-style sizes: bytes, or a number with b, k, m or g. */
export const MEMORY_PATTERN = "^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$";
export const JOB_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$";

export const SourceSpecSchema = Type.Object(
  {
    type: Type.Union(JOB_SOURCE_TYPES.map((t) => Type.Literal(t))),
    url: Type.Optional(Type.String({ minLength: 1, description: "a git URL or a local path" })),
    ref: Type.Optional(Type.String({ minLength: 1, description: "branch, tag or commit" })),
  },
  { additionalProperties: false },
);
export type SourceSpec = Static<typeof SourceSpecSchema>;

export const ResourcesSchema = Type.Object(
  {
    cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024, description: "CPUs, e.g. 1.5" })),
    memory: Type.Optional(Type.String({ pattern: MEMORY_PATTERN, description: "bytes or a size like 512m, 2g" })),
    pids: Type.Optional(Type.Integer({ minimum: 16, maximum: 1_000_000, description: "at least 16 processes" })),
  },
  { additionalProperties: false },
);
export type Resources = Static<typeof ResourcesSchema>;

export const JobSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: JOB_NAME_PATTERN, maxLength: 200, description: "letters, digits, . _ -" })),
    image: Type.Optional(Type.String({ minLength: 1, description: "a container image reference" })),
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

/** Job env values as the process sees them: numbers and booleans from YAML become strings. */
export function jobEnvStrings(env: JobSpec["env"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) out[key] = String(value);
  return out;
}
