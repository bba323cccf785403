import { status, type StatusObject } from "@grpc/grpc-js";
import { consola } from "consola";

/** A refusal with the gRPC status the spec gives it; the server sends `code` and `message` as is. */
export class CorndogsError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = "CorndogsError";
  }
}

export const invalidArgument = (message: string) => new CorndogsError(status.INVALID_ARGUMENT, message);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkUuid(field: string, value: string): string {
  if (!UUID.test(value)) {
    throw invalidArgument(`${field}: ${JSON.stringify(value.slice(0, 64))} is not a UUID (expected 8-4-4-4-12 hex digits)`);
  }
  return value.toLowerCase();
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Parses an int64 field sent as bigint, number or decimal string; anything else or out of range is INVALID_ARGUMENT. */
export function checkInt64(field: string, value: bigint | number | string | undefined | null): bigint {
  if (value === undefined || value === null || value === "") return 0n;
  let n: bigint;
  try {
    if (typeof value === "number" && !Number.isSafeInteger(value)) throw new Error("unsafe");
    n = BigInt(value);
  } catch {
    throw invalidArgument(`${field}: ${String(value).slice(0, 40)} is not an integer`);
  }
  if (n < INT64_MIN || n > INT64_MAX) {
    throw invalidArgument(`${field}: ${n} is outside int64 (${INT64_MIN} to ${INT64_MAX})`);
  }
  return n;
}

/** The status a failed call answers with: a CorndogsError's own, anything else INTERNAL (and logged). */
export function statusOf(error: unknown): Pick<StatusObject, "code" | "details"> {
  if (error instanceof CorndogsError) return { code: error.code, details: error.message };
  consola.error("corndogs: internal error", error);
  return { code: status.INTERNAL, details: "internal error (see the server log)" };
}
