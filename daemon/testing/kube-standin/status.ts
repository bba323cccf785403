/** The API server's error shape: a `Status` object with the HTTP code, a reason and a message. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: code < 300 ? "Success" : "Failure", message, reason, ...(details ? { details } : {}), code };
}

export function statusResponse(e: StatusError): Response {
  return Response.json(statusBody(e.code, e.reason, e.message, e.details), { status: e.code });
}

/** `jobs.batch "x"` as the API server names a resource in messages. */
export const qualified = (plural: string, group: string) => (group ? `${plural}.${group}` : plural);

export const notFound = (plural: string, group: string, name: string) =>
  new StatusError(404, "NotFound", `${qualified(plural, group)} "${name}" not found`, { name, group, kind: plural });
