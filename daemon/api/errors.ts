import { isUuid, type ApiErrorBody } from "../../runner/protocol/index.ts";
import { JobInputError, JobStateError } from "../jobs/service.ts";

/** The one error shape of the API (runner/protocol/api/error.ts). */
export type ErrorBody = ApiErrorBody;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const badRequest = (message: string, field?: string) => new ApiError(400, "invalid", message, field);
export const unauthorized = (message = "a valid token is required (Authorization: Bearer <token>)") =>
  new ApiError(401, "unauthorized", message);
export const forbidden = (message: string) => new ApiError(403, "forbidden", message);
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
export const conflict = (message: string, field?: string) => new ApiError(409, "conflict", message, field);
export const tooLarge = (limit: number) =>
  new ApiError(413, "payload_too_large", `request body is larger than the limit of ${limit} bytes`);

/** The job service's refusals in the API's shape: bad input 400 naming the field, a status that does not allow it 409 (404 when the job is gone). */
export function fromJobServiceError(error: unknown): ApiError | undefined {
  if (error instanceof JobInputError) return badRequest(error.message, error.field);
  if (error instanceof JobStateError) return error.current === undefined ? notFound("job") : conflict(error.message, "status");
  return undefined;
}

export function errorResponse(error: ApiError): Response {
  return Response.json(error.body(), { status: error.status });
}

/** A path id that is not a UUID cannot name anything: 404 like any unknown id. */
export function uuidOr404(value: string, what: string): string {
  if (!isUuid(value)) throw notFound(what);
  return value;
}
