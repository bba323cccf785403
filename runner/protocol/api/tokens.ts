/** /api/v1/tokens: API and worker tokens (a token's value is shown once, when it is created). */
import { Type, type Static } from "@sinclair/typebox";
import { USER_NAME_PATTERN } from "../patterns.ts";
import { isoTime, literalUnion, Nullable, uuid } from "../schema-parts.ts";

export const TOKEN_SCOPES = ["api", "worker", "job"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** POST /api/v1/tokens. */
export const TokenCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: "what the token is for" }),
    expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    worker: Type.Optional(Type.Boolean({ description: "a worker token (internal endpoints only); administrators only" })),
    user: Type.Optional(Type.String({ pattern: USER_NAME_PATTERN, description: "issue for this user (created if missing); administrators only" })),
    admin: Type.Optional(Type.Boolean({ description: "make that user an administrator; administrators only" })),
  },
  { additionalProperties: false },
);
export type TokenCreate = Static<typeof TokenCreateSchema>;

export const TokenCreatedSchema = Type.Object(
  {
    id: uuid("the token's id"),
    name: Type.String(),
    token: Type.String({ description: "the secret; shown only in this answer" }),
    expires_at: Nullable(isoTime("it stops working")),
  },
  { additionalProperties: false },
);
export type TokenCreated = Static<typeof TokenCreatedSchema>;

export const TokenSchema = Type.Object(
  {
    id: uuid("the token's id"),
    name: Type.String(),
    user: Type.String({ description: "whose it is" }),
    scopes: Type.Array(literalUnion(TOKEN_SCOPES)),
    created_at: isoTime("issued"),
    expires_at: Nullable(isoTime("it stops working")),
    last_used_at: Nullable(isoTime("last seen")),
    revoked_at: Nullable(isoTime("revoked")),
  },
  { additionalProperties: false },
);
export type TokenInfo = Static<typeof TokenSchema>;
export const TokenListSchema = Type.Object({ tokens: Type.Array(TokenSchema) }, { additionalProperties: false });
export type TokenList = Static<typeof TokenListSchema>;
export const TokenRevokedSchema = Type.Object({ id: uuid("the token's id"), revoked: Type.Literal(true) }, { additionalProperties: false });
