import { ApiError, badRequest, tooLarge } from "./errors.ts";

/** The body's bytes, refused with 413 as soon as they pass `limit` (a chunked body has no Content-Length to check first). */
export async function readLimitedBytes(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function readLimited(request: Request, limit: number): Promise<string> {
  return Buffer.from(await readLimitedBytes(request, limit)).toString("utf8");
}

/**
 * Every body this API takes is a JSON object. It is read as JSON whatever the Content-Type says
 * (`curl -d` sends form encoding by default), and never by the form or multipart parsers, which
 * would read an unbounded body slowly and then report a missing field.
 */
/** Deepest nesting of arrays and objects a body may have; real bodies here need 4. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether `text` nests arrays or objects deeper than `max`, found in one pass without parsing:
 * a deep body is cheap to send and costly to parse, validate and report (it overflowed the stack
 * of the validator's error path, seconds per request, before any token was checked).
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

export async function readJsonBody(request: Request, contentType: string | undefined, limit: number): Promise<Record<string, unknown>> {
  const text = await readLimited(request, limit);
  if (text.trim() === "") return {};
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw badRequest(`the request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const hint = contentType?.startsWith("application/json") ? "" : " (send JSON with content-type: application/json)";
    throw new ApiError(400, "malformed_json", `the request body is not valid JSON${hint}`);
  }
  // An array or a bare value would otherwise be reported as its first missing field.
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw badRequest("the request body must be a JSON object");
  return parsed as Record<string, unknown>;
}
