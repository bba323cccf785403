/** The one error shape of the API: every 4xx and 5xx answer, `{"error":{"code","message","field"}}`. */
import { Type, type Static } from "@sinclair/typebox";

export const ApiErrorSchema = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: "machine-readable: invalid, unauthorized, forbidden, not_found, conflict, payload_too_large, …" }),
        message: Type.String({ description: "what went wrong and, for bad input, what is allowed" }),
        field: Type.Optional(Type.String({ description: "the request field the error concerns (e.g. source.url)" })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: "an error answer" },
);
export type ApiErrorBody = Static<typeof ApiErrorSchema>;
/** The statuses an error answer may carry. */
export const API_ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 422, 500, 503] as const;
export type ApiErrorStatus = (typeof API_ERROR_STATUSES)[number];
