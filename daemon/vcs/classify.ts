import type { WebhookDeliveryOutcome } from "../../schema/app/index.ts";
import type { VcsCommand, VcsEvent } from "./event.ts";
import { filteredOut } from "./filter.ts";
import type { Forge } from "./forge.ts";

export interface Classified {
  /** null: to be processed (an eval job to start, a comment's command to check). */
  outcome: WebhookDeliveryOutcome | null;
  reason: string | null;
  /** Stored as the delivery's `mapped`: the event, or the comment's command. */
  mapped: VcsEvent | VcsCommand | null;
}

/** What a delivery's payload means to the project: mapped by its forge, filtered by the project's allowed_events and target_branches. */
export function classifyDelivery(forge: Forge, eventName: string, payload: unknown, project: { allowedEvents: string[]; targetBranches: string[] }): Classified {
  const mapped = forge.map(eventName, payload);
  if (mapped.kind === "ignored") return { outcome: "ignored", reason: mapped.reason, mapped: null };
  if (mapped.kind === "command") return { outcome: null, reason: null, mapped: mapped.command };
  const reason = filteredOut(mapped.event, project);
  return { outcome: reason ? "filtered" : null, reason, mapped: mapped.event };
}

export const isCommand = (mapped: unknown): mapped is VcsCommand => !!mapped && typeof mapped === "object" && (mapped as { kind?: unknown }).kind === "command";
