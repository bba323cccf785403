import { CSRF_HEADER, csrfMatches, sessionSecretOf } from "../auth/sessions.ts";
import { ApiError } from "./errors.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A state-changing request authenticated by the session cookie (no Authorization header) must
 * carry the session's CSRF token in X-CSRF-Token; a page on another site cannot learn it, and the
 * cookie alone proves nothing. Bearer-token requests are not affected (a browser never adds them).
 */
export function csrfRefusal(request: Request): ApiError | undefined {
  if (SAFE.has(request.method) || request.headers.get("authorization") !== null) return undefined;
  const secret = sessionSecretOf(request.headers);
  if (secret === undefined) return undefined;
  if (csrfMatches(secret, request.headers.get(CSRF_HEADER))) return undefined;
  return new ApiError(403, "csrf_failed", `a signed-in request that changes something must carry the session's CSRF token in ${CSRF_HEADER}; reload the page`);
}
