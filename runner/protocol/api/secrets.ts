/** /api/v1/projects/{id}/secrets: values go in, never come out. */
import { Type, type Static } from "@sinclair/typebox";
import { NO_NUL_PATTERN } from "../patterns.ts";
import { isoTime } from "../schema-parts.ts";
import { MIN_SECRET_LENGTH } from "./secret-limits.ts";
export { MIN_SECRET_LENGTH };

export const SecretValueSchema = Type.Object(
  {
    value: Type.String({
      minLength: MIN_SECRET_LENGTH,
      maxLength: 65536,
      pattern: NO_NUL_PATTERN,
      description: `at least ${MIN_SECRET_LENGTH} characters (shorter values cannot be masked in logs), up to 65536, no NUL; stored encrypted, never returned by the API`,
    }),
  },
  { additionalProperties: false },
);
export type SecretValue = Static<typeof SecretValueSchema>;
export const SecretKeySchema = Type.Object(
  { key: Type.String(), version: Type.Integer({ minimum: 1, description: "+1 per change" }), created_at: isoTime("first set"), updated_at: isoTime("last set") },
  { additionalProperties: false },
);
export type SecretKeyInfo = Static<typeof SecretKeySchema>;
export const SecretKeyListSchema = Type.Object({ secrets: Type.Array(SecretKeySchema) }, { additionalProperties: false });
export const SecretSetSchema = Type.Union(
  [
    Type.Object({ key: Type.String(), created: Type.Literal(true) }, { additionalProperties: false }),
    Type.Object({ key: Type.String(), updated: Type.Literal(true) }, { additionalProperties: false }),
  ],
  { description: "created (201) or updated (200)" },
);
export const SecretDeletedSchema = Type.Object({ key: Type.String(), deleted: Type.Literal(true) }, { additionalProperties: false });
