/** Small TypeBox builders every contract file uses. */
import { Type, type TLiteral, type TSchema, type TUnion } from "@sinclair/typebox";
import { UUID_PATTERN } from "./patterns.ts";

/** One of `values`, as an anyOf of constants (so errors list the choices), typed as the tuple's members for TypeBox and Elysia alike. */
export function literalUnion<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(values.map((v) => Type.Literal(v)), options) as never;
}
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** A time as the API writes it: `Date.toISOString()`. */
export const isoTime = (description: string) => Type.String({ description: `${description} (ISO 8601)` });
export const uuid = (description: string) => Type.String({ pattern: UUID_PATTERN, description });
