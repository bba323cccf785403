/**
 * Webhook delivery: the summary as JSON, signed as GitHub signs its webhooks (HMAC-SHA256 of the
 * raw body under the rule's secret, `sha256=<hex>`), with a delivery id a receiver can use to
 * drop a repeat, and a `text` field that Slack and Mattermost incoming webhooks show as it is.
 */
import { createHmac } from "node:crypto";
import { VERSION } from "../../runner/protocol/version.ts";
import type { SealedWebhook } from "../../schema/app/index.ts";
import { renderChatText } from "./render.ts";
import type { RunSummary } from "./summary.ts";

export const SIGNATURE_HEADER = "x-reactorcide-signature-256";
export const DELIVERY_HEADER = "x-reactorcide-delivery";
export const EVENT_HEADER = "x-reactorcide-event";
const TIMEOUT_MS = 10_000;

export const signBody = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export function webhookBody(summary: RunSummary, deliveryId: string): string {
  return JSON.stringify({ ...summary, delivery_id: deliveryId, text: renderChatText(summary) });
}

/** Posts once; throws with what went wrong (status and the start of the answer) unless the receiver says 2xx. */
export async function sendWebhook(target: SealedWebhook, summary: RunSummary, deliveryId: string): Promise<void> {
  const body = webhookBody(summary, deliveryId);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": `Reactorcide/${VERSION}`,
    [DELIVERY_HEADER]: deliveryId,
    [EVENT_HEADER]: summary.event,
  };
  if (target.secret) headers[SIGNATURE_HEADER] = signBody(target.secret, body);
  let response: Response;
  try {
    // Redirects are not followed: one could lead to plain http or to another host.
    response = await fetch(target.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    // The path may be the credential (Slack): only the origin goes into the error people read.
    const origin = new URL(target.url).origin;
    const reason = (error instanceof Error ? error.message : String(error)).replaceAll(target.url, origin);
    throw new Error(`POST ${origin}: ${reason}`);
  }
  if (response.status >= 200 && response.status < 300) {
    await response.body?.cancel();
    return;
  }
  const text = (await response.text().catch(() => "")).slice(0, 200).replace(/\s+/g, " ").trim();
  throw new Error(`the receiver answered HTTP ${response.status}${text ? `: ${text}` : ""}`);
}
