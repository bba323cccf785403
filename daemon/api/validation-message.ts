/**
 * Turns a TypeBox validation failure into "field: what is allowed". TypeBox's own wording
 * ("Expected union value") names neither the choices nor the range, and Elysia wraps numbers
 * in a union with numeric strings, so most number errors would read that way.
 */

/** The parts of a JSON schema this module reads. */
interface SchemaLike {
  type?: string;
  anyOf?: SchemaLike[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  description?: string;
  properties?: Record<string, unknown>;
  patternProperties?: Record<string, unknown>;
}

/** The fields of TypeBox's ValueError this module reads. */
export interface FailedValue {
  path: string;
  message: string;
  schema: unknown;
}

function range(s: SchemaLike): string {
  const low = s.minimum ?? (s.exclusiveMinimum !== undefined ? `more than ${s.exclusiveMinimum}` : undefined);
  if (s.minimum !== undefined && s.maximum !== undefined) return ` from ${s.minimum} to ${s.maximum}`;
  if (low !== undefined) return typeof low === "number" ? ` of at least ${low}` : ` ${low}`;
  if (s.maximum !== undefined) return ` of at most ${s.maximum}`;
  return "";
}

function count(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return ` of ${min} to ${max} ${unit}`;
  if (min !== undefined) return ` of at least ${min} ${unit}`;
  if (max !== undefined) return ` of at most ${max} ${unit}`;
  return "";
}

/** "must be …" for a schema, or undefined when there is nothing better than TypeBox's text. */
export function allowed(schema: unknown): string | undefined {
  const s = (schema ?? {}) as SchemaLike;
  if (s.anyOf) {
    const choices = s.anyOf.filter((m) => m.const !== undefined).map((m) => JSON.stringify(m.const));
    if (choices.length === s.anyOf.length) return `must be one of ${choices.join(", ")}`;
    // Elysia's numeric coercion: the number member says what is allowed.
    const numeric = s.anyOf.find((m) => m.type === "integer" || m.type === "number");
    return numeric ? allowed(numeric) : undefined;
  }
  switch (s.type) {
    case "integer":
      return `must be a whole number${range(s)}`;
    case "number":
      return `must be a number${range(s)}`;
    case "boolean":
      return "must be true or false";
    case "array":
      return `must be a list${count(s.minItems, s.maxItems, "items")}`;
    case "object":
      return "must be an object";
    case "string":
      if (s.format === "uuid") return "must be a UUID";
      if (s.pattern) return `must be ${s.description ?? `a string matching ${s.pattern}`}`;
      return `must be a string${count(s.minLength, s.maxLength, "characters")}`;
    default:
      return undefined;
  }
}

/** The field (dotted path) and a message saying what the field allows. */
export function validationMessage(failed: FailedValue): { field: string | undefined; message: string } {
  const field = failed.path.replace(/^\//, "").replaceAll("/", ".") || undefined;
  const s = (failed.schema ?? {}) as SchemaLike;
  let text: string;
  if (failed.message === "Unexpected property") {
    // The schema here is the enclosing object's.
    if (s.patternProperties) text = `is not an allowed name${s.description ? ` (${s.description})` : ""}`;
    else text = `is not a known field${s.properties ? ` (known: ${Object.keys(s.properties).join(", ")})` : ""}`;
  } else if (failed.message === "Expected required property") {
    const detail = allowed(s);
    text = `is required${detail ? ` and ${detail}` : ""}`;
  } else {
    text = allowed(s) ?? failed.message;
  }
  return { field, message: field ? `${field}: ${text}` : text };
}
