/**
 * Wire format of the secret registration socket (REACTORCIDE_SECRETS_SOCKET).
 * Request: a 4-byte big-endian length, then that many bytes of UTF-8 JSON
 * `{"action":"register","secrets":[...]}` (`secrets` may also be one string).
 * Reply: one line, `{"status":"ok","registered":N}` or `ERROR: <reason>`.
 */

export const SECRETS_SOCKET_ENV = "REACTORCIDE_SECRETS_SOCKET";
export const SOCKET_FILE_NAME = "secrets.sock";
/** Bodies above this are refused by closing the connection. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
export const HEADER_BYTES = 4;

export interface RegisterRequest {
  action: "register";
  secrets: string | readonly unknown[];
}

export interface OkReply {
  status: "ok";
  registered: number;
}

export function encodeRequest(secrets: readonly string[]): Uint8Array {
  const body = Buffer.from(JSON.stringify({ action: "register", secrets } satisfies RegisterRequest), "utf8");
  const frame = Buffer.alloc(HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** The reply line for one request body, and the secrets it carries (already filtered). */
export function handleRequest(body: Uint8Array): { reply: string; secrets: string[] } {
  let request: unknown;
  try {
    request = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { reply: "ERROR: Invalid JSON\n", secrets: [] };
  }
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return { reply: "ERROR: Invalid request: expected a JSON object\n", secrets: [] };
  }
  const { action, secrets } = request as Record<string, unknown>;
  if (action !== "register") return { reply: "ERROR: Unknown action\n", secrets: [] };
  const list = typeof secrets === "string" ? [secrets] : Array.isArray(secrets) ? secrets : null;
  if (list === null) return { reply: "ERROR: Invalid secrets: expected a string or an array of strings\n", secrets: [] };
  // Empty and non-string entries are skipped and not counted.
  const values = list.filter((s): s is string => typeof s === "string" && s.length > 0);
  const reply: OkReply = { status: "ok", registered: values.length };
  return { reply: `${JSON.stringify(reply)}\n`, secrets: values };
}
