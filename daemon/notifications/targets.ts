/** Checks on what a rule points at: where webhooks may go, which e-mail addresses are taken. */

/** Loopback hosts, where plain http is allowed (a receiver on the same machine). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host === "::1") return true;
  const parts = host.split(".");
  return parts.length === 4 && parts[0] === "127" && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Why `raw` cannot be a webhook URL, or undefined when it can. */
export function webhookUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute https:// URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `must be an https:// URL, not ${url.protocol}//`;
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) return "must use https:// (plain http:// only for 127.0.0.1, ::1 or localhost)";
  // Credentials belong in the signing secret, and a user:pass@ prefix hides the real host from a reader.
  if (url.username || url.password) return "must not carry a user name or password (use the rule's secret)";
  if (/[\s\u0000-\u001f]/.test(raw)) return "must not contain spaces or control characters";
  return undefined;
}

/** What the API shows of a webhook URL: its origin only (an incoming-webhook URL's path is its credential). */
export const urlOrigin = (raw: string) => new URL(raw).origin;

// One plain address, no display name (the contract's pattern).
export { EMAIL_PATTERN } from "../../runner/protocol/api/notifications.ts";
