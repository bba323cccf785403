/** Bad source input: `field` names what was wrong (e.g. "source.url"), the message what is allowed. */
export class SourceError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "SourceError";
  }
}
