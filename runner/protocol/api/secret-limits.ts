/**
 * Secret value limits without the schemas (secrets.ts builds on them): the masker reads these at
 * every runner start, which must not load TypeBox.
 */

/** Shorter values cannot be masked in logs (the masker, runner/secrets/, skips them). */
export const MIN_SECRET_LENGTH = 3;
