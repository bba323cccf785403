import type { TSchema } from "@sinclair/typebox";
import { ApiErrorSchema, type ApiErrorStatus } from "../../runner/protocol/index.ts";

/** Any request may be refused before its handler: a NUL in the URL or bad JSON (400), a body over the limit (413), our bug (500). */
const ANY_ROUTE = [400, 413, 500] as const;
/** …and a token-authenticated one: no or a bad token (401), the wrong scope (403). */
const AUTHENTICATED = [...ANY_ROUTE, 401, 403] as const;

type WithErrors<S, E extends ApiErrorStatus> = S & { [K in E]: typeof ApiErrorSchema };

function withErrors<S extends Record<number, TSchema>, E extends ApiErrorStatus>(success: S, errors: readonly E[]): WithErrors<S, E> {
  const map: Record<number, TSchema> = { ...success };
  for (const status of errors) map[status] = ApiErrorSchema;
  return map as WithErrors<S, E>;
}

/**
 * A token-authenticated route's `response` map: its success schemas (from runner/protocol) and the
 * API's one error shape under each status it may answer with (401, 403, 400, 413 and 500 always;
 * `errors` adds the route's own, e.g. 404 for an id, 409 for a state conflict). The OpenAPI
 * document shows both (daemon/api/openapi.test.ts fails on a route without them).
 */
export function answers<S extends Record<number, TSchema>, const E extends readonly ApiErrorStatus[] = []>(success: S, ...errors: E): WithErrors<S, E[number] | (typeof AUTHENTICATED)[number]> {
  return withErrors(success, [...AUTHENTICATED, ...errors]);
}

/** The same for a route without an API token (health, signed webhooks). */
export function openAnswers<S extends Record<number, TSchema>, const E extends readonly ApiErrorStatus[] = []>(success: S, ...errors: E): WithErrors<S, E[number] | (typeof ANY_ROUTE)[number]> {
  return withErrors(success, [...ANY_ROUTE, ...errors]);
}
