import { t } from "elysia";
import { IMAGE_DESCRIPTION, IMAGE_PATTERN, JOB_STATUSES } from "../../schema/app/index.ts";
import { SECRET_KEY_PATTERN } from "../secrets/store.ts";
import { badRequest } from "./errors.ts";

export const ONE_LINE = "^[^\\r\\n\\u0000]+$";

const SourceRef = t.Object(
  {
    type: t.Union([t.Literal("git"), t.Literal("copy"), t.Literal("tarball"), t.Literal("none")]),
    // Both reach the runner through an env file, one line per variable.
    url: t.Optional(t.String({ maxLength: 2000, pattern: ONE_LINE, description: "a URL or path on one line (up to 2000 characters)" })),
    ref: t.Optional(t.String({ maxLength: 250, pattern: ONE_LINE, description: "a branch, tag or commit on one line (up to 250 characters)" })),
  },
  { additionalProperties: false },
);

export const JobSubmit = t.Object(
  {
    name: t.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$", description: "letters, digits, . _ - (up to 200)" }),
    // NUL cannot be passed to a process in argv or the environment.
    command: t.String({ minLength: 1, maxLength: 65536, pattern: "^[^\\u0000]+$", description: "a shell command without NUL characters (up to 65536)" }),
    project: t.String({ minLength: 1, description: "project id or name" }),
    image: t.Optional(t.String({ pattern: IMAGE_PATTERN, description: IMAGE_DESCRIPTION })),
    env: t.Optional(
      // The worker writes values quoted and escaped (multi-line ones too); NUL cannot reach a process environment.
      t.Record(t.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), t.String({ maxLength: 65536, pattern: "^[^\\u0000]*$", description: "a value without NUL characters (up to 65536 characters)" }), {
        additionalProperties: false,
        description: "names are letters, digits and _",
      }),
    ),
    secrets: t.Optional(t.Array(t.String({ pattern: SECRET_KEY_PATTERN }), { maxItems: 100, description: "names of project secrets to inject" })),
    source: t.Optional(SourceRef),
    ci_source: t.Optional(SourceRef),
    timeout: t.Optional(t.Integer({ minimum: 1, maximum: 7 * 24 * 3600, description: "seconds" })),
    priority: t.Optional(t.Integer({ minimum: -1000, maximum: 1000, description: "higher runs first" })),
    resources: t.Optional(
      t.Object(
        {
          cpu: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 1024 })),
          memory: t.Optional(t.String({ pattern: "^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$" })),
          pids: t.Optional(t.Integer({ minimum: 16, maximum: 1_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    parent_job_id: t.Optional(t.String({ format: "uuid" })),
  },
  { additionalProperties: false },
);

// Numbers in queries are digit strings, range-checked by queryInt: Elysia's numeric coercion
// reports errors without the parameter's name.
const Digits = (description: string) => t.String({ pattern: "^[0-9]{1,9}$", description });

export const JobListQuery = t.Object({
  project: t.Optional(t.String({ minLength: 1 })),
  status: t.Optional(t.Union(JOB_STATUSES.map((s) => t.Literal(s)))),
  name: t.Optional(t.String({ minLength: 1 })),
  limit: t.Optional(Digits("a whole number from 1 to 200 (default 50)")),
  offset: t.Optional(Digits("a whole number (default 0)")),
});

export const LogQuery = t.Object({
  follow: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])),
  after: t.Optional(Digits("a line number; only lines after it are sent")),
  limit: t.Optional(Digits("at most this many lines (default: all)")),
});

/** A digit-string query parameter as a number within [min, max], or 400 naming it. */
export function queryInt(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`${name}: must be a whole number from ${min} to ${max}`, name);
  return n;
}
