import type { TSchema } from "@sinclair/typebox";
import { Value, ValueErrorType, type ValueError } from "@sinclair/typebox/value";

/** One thing wrong with a document: the dotted field path and what is allowed there. */
export interface Problem {
  field: string;
  message: string;
}

/** Thrown by the protocol parsers; `problems` lists every problem found, not just the first. */
export class ProtocolError extends Error {
  constructor(
    readonly what: string,
    readonly problems: Problem[],
  ) {
    super(`invalid ${what}: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "ProtocolError";
  }
  /** The first offending field, for callers that report one. */
  get field(): string {
    return this.problems[0]?.field ?? "";
  }
}

/** `/jobs/0/env/A` → `jobs[0].env.A`, rooted at `root` when given. */
export function fieldName(pointer: string, root = ""): string {
  let out = root;
  for (const part of pointer.split("/").slice(1)) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out || "(document)";
}

function allowedKeys(schema: TSchema | undefined): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props) : [];
}

function literals(schema: TSchema): string[] | null {
  const anyOf = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (!anyOf || !anyOf.every((s) => typeof s.const === "string")) return null;
  return anyOf.map((s) => String(s.const));
}

function describe(error: ValueError, root: string): Problem {
  const field = fieldName(error.path, root);
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    // TypeBox reports the unknown key as the path; the parent schema lists what is allowed.
    const allowed = allowedKeys(error.schema);
    return { field, message: `unknown field${allowed.length ? `; allowed: ${allowed.join(", ")}` : ""}` };
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) return { field, message: "required" };
  const choices = literals(error.schema);
  if (choices) return { field, message: `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}` };
  const description = (error.schema as { description?: string }).description;
  return { field, message: description ? `${error.message} (${description})` : error.message };
}

/**
 * Every problem of `value` against `schema`, one per field, with unknown fields named. Union
 * errors are reported once per path (TypeBox also reports each failed branch).
 */
export function schemaProblems(schema: TSchema, value: unknown, root = ""): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of Value.Errors(schema, value)) {
    const problem = describe(error, root);
    if (seen.has(problem.field)) continue;
    seen.add(problem.field);
    problems.push(problem);
  }
  return problems;
}

/**
 * `reactorcide-runner eval` starts each line naming a problem of the CI definitions with this, so
 * the coordinator finds them in the eval job's log for the commit status and the pull request summary.
 */
export const EVAL_PROBLEM_PREFIX = "eval problem: ";
