/** /api/v1/session: the dashboard's sign-in (a bearer token traded for an HttpOnly cookie). */
import { Type, type Static } from "@sinclair/typebox";
import { PROJECT_ROLES } from "./projects.ts";
import { isoTime, literalUnion, Nullable, uuid } from "../schema-parts.ts";

export const SessionSchema = Type.Object(
  {
    user: Type.String(),
    is_admin: Type.Boolean(),
    projects: Type.Array(Type.Object({ id: uuid("a project"), name: Type.String(), role: literalUnion(PROJECT_ROLES) }, { additionalProperties: false }), {
      description: "the projects the caller can read, with their role",
    }),
    csrf_token: Nullable(Type.String({ description: "send as X-CSRF-Token with every change made through the cookie; null with a bearer token" })),
    expires_at: Nullable(isoTime("the session ends")),
  },
  { additionalProperties: false },
);
export type SessionInfo = Static<typeof SessionSchema>;
export const SignedOutSchema = Type.Object({ signed_out: Type.Boolean({ description: "false: there was no session (a bearer token)" }) }, { additionalProperties: false });
export type SignedOut = Static<typeof SignedOutSchema>;
