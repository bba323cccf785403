/**
 * Schemas for steps (inside a job file's `steps:`) and for workflow files. TypeBox, so the daemon
 * validates the same documents; semantic checks (references, conditions) live with the engines.
 */
import { Type, type Static } from "@sinclair/typebox";
import { EnvSchema, NAME_PATTERN, StepSchema, StepsSchema, type StepSpec } from "./step-spec.ts";
import { TRIGGER_CONDITIONS } from "./trigger.ts";

import { ENV_NAME_PATTERN as ENV_NAME } from "./patterns.ts";
const Name = (what: string) => Type.String({ pattern: NAME_PATTERN, maxLength: 100, description: `${what}: letters, digits, _ and -` });
export { NAME_PATTERN, EnvSchema, StepSchema, StepsSchema, type StepSpec };

export const WORKFLOW_EVENTS = [
  "push",
  "pull_request_opened",
  "pull_request_updated",
  "pull_request_merged",
  "pull_request_closed",
  "tag_created",
] as const;
export type WorkflowEvent = (typeof WORKFLOW_EVENTS)[number];

export const TriggerRulesSchema = Type.Object(
  {
    events: Type.Optional(Type.Array(Type.Union(WORKFLOW_EVENTS.map((e) => Type.Literal(e))))),
    branches: Type.Optional(Type.Array(Type.String({ minLength: 1, description: "globs: * one segment, ** any, ? one character" }))),
    branches_ignore: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    paths: Type.Optional(Type.Array(Type.String({ minLength: 1, description: "globs; a leading ! excludes" }))),
    paths_ignore: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
);
export type TriggerRules = Static<typeof TriggerRulesSchema>;

const jobFields = {
  image: Type.Optional(Type.String({ minLength: 1 })),
  command: Type.Optional(Type.String({ minLength: 1 })),
  steps: Type.Optional(StepsSchema),
  env: Type.Optional(EnvSchema),
  depends_on: Type.Optional(Type.Array(Name("job name"))),
  needs: Type.Optional(Type.Array(Name("job name"))),
  condition: Type.Optional(Type.Union(TRIGGER_CONDITIONS.map((c) => Type.Literal(c)))),
  if: Type.Optional(Type.String({ minLength: 1, description: "e.g. env.REACTORCIDE_BRANCH == 'main'" })),
  job_file: Type.Optional(Type.String({ minLength: 1, description: "a job file relative to the workflow's repository" })),
  for_each: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 256 })),
  item_var: Type.Optional(Type.String({ pattern: ENV_NAME })),
  timeout: Type.Optional(Type.Integer({ minimum: 1, description: "seconds" })),
  on: Type.Optional(TriggerRulesSchema),
};
export const WorkflowJobSchema = Type.Object(jobFields, { additionalProperties: false });
export const WorkflowJobListItemSchema = Type.Object({ name: Name("job name"), ...jobFields }, { additionalProperties: false });
export type WorkflowJobSpec = Static<typeof WorkflowJobSchema>;

export const WorkflowFileSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1 })),
    on: Type.Optional(TriggerRulesSchema),
    vars: Type.Optional(EnvSchema),
    image: Type.Optional(Type.String({ minLength: 1, description: "default image for jobs without one" })),
    jobs: Type.Union([
      Type.Record(Type.String({ pattern: NAME_PATTERN }), WorkflowJobSchema, { additionalProperties: false }),
      Type.Array(WorkflowJobListItemSchema, { minItems: 1 }),
    ]),
  },
  { additionalProperties: false },
);
export type WorkflowFile = Static<typeof WorkflowFileSchema>;
