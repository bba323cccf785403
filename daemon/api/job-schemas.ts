import { t } from "elysia";
import { JOB_STATUSES, literalUnion } from "../../runner/protocol/index.ts";
import { badRequest } from "./errors.ts";

// Numbers in queries are digit strings, range-checked by queryInt: Elysia's numeric coercion
// reports errors without the parameter's name.
const Digits = (description: string) => t.String({ pattern: "^[0-9]{1,9}$", description });

export const JobListQuery = t.Object({
  project: t.Optional(t.String({ minLength: 1 })),
  status: t.Optional(literalUnion(JOB_STATUSES)),
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
