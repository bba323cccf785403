/** The schema of one step in a job's `steps:` (shared by job files, workflows and trigger payloads). */
import { Type, type Static } from "@sinclair/typebox";
import { ENV_NAME_PATTERN as ENV_NAME, NAME_PATTERN } from "./patterns.ts";
export { NAME_PATTERN };
const Name = (what: string) => Type.String({ pattern: NAME_PATTERN, maxLength: 100, description: `${what}: letters, digits, _ and -` });
export const EnvSchema = Type.Record(Type.String({ pattern: ENV_NAME }), Type.String(), {
  additionalProperties: false,
  description: "names are letters, digits and _, values strings (quote numbers)",
});

export const StepSchema = Type.Object(
  {
    name: Name("step name"),
    run: Type.String({ minLength: 1, description: "a shell command" }),
    env: Type.Optional(EnvSchema),
    working_dir: Type.Optional(Type.String({ minLength: 1 })),
    timeout: Type.Optional(Type.Integer({ minimum: 1, description: "seconds" })),
    parallel: Type.Optional(Type.Boolean()),
    depends_on: Type.Optional(Type.Array(Name("step name"))),
    if: Type.Optional(Type.String({ minLength: 1, description: "e.g. success() && env.BRANCH == 'main'" })),
    continue_on_error: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type StepSpec = Static<typeof StepSchema>;
export const StepsSchema = Type.Array(StepSchema, { minItems: 1, maxItems: 500 });
