import { Elysia } from "elysia";

/**
 * A route group. `normalize: false` makes unknown body fields a validation error naming the
 * field instead of being dropped silently.
 */
export function router(prefix = "") {
  return new Elysia({ prefix, normalize: false });
}
