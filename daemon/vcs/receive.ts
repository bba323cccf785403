/**
 * A webhook delivery, from raw bytes to a recorded row: the project is found by the payload's
 * repository (or ?project=), the signature or token is checked in constant time against its
 * secret before anything else is read, and the delivery is recorded once per delivery id. The
 * answer is the same 401 for an unknown repository and a bad signature.
 */
import { createHash } from "node:crypto";
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { projects, webhookDeliveries, type WebhookDeliveryOutcome } from "../../schema/app/index.ts";
import type { VcsProvider } from "../../schema/app/vcs.ts";
import { findProject, type Project } from "../api/access.ts";
import { ApiError, badRequest } from "../api/errors.ts";
import type { Db } from "../db/client.ts";
import { GroupCommit } from "../db/group-commit.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import { hmacSha256Hex } from "./constant-time.ts";
import { classifyDelivery, isCommand } from "./classify.ts";
import type { Forge } from "./forge.ts";
import { openProjectField } from "./project-secrets.ts";
import { repoKey } from "./repo-url.ts";

export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

export const webhookUnauthorized = () =>
  new ApiError(401, "unauthorized", "the delivery could not be authenticated: no project for its repository has a secret that matches its signature");

/** GitHub's "application/x-www-form-urlencoded" content type sends the JSON as the `payload` field. */
function decodePayload(contentType: string, raw: Uint8Array): unknown {
  const text = Buffer.from(raw).toString("utf8");
  const json = contentType.startsWith("application/x-www-form-urlencoded") ? new URLSearchParams(text).get("payload") : text;
  if (json === null) throw badRequest("the form-encoded body has no payload field", "payload");
  return JSON.parse(json);
}

type ProjectRow = typeof projects.$inferSelect;

/**
 * The projects of a provider that can receive webhooks (a repo_url and a webhook secret), read by
 * one query for all the deliveries that arrived while the previous read was in flight.
 */
export type ProjectLookup = GroupCommit<VcsProvider, ProjectRow[]>;

function projectLookup(db: Db): ProjectLookup {
  return new GroupCommit(async (providers) => {
    const rows = await db
      .select()
      .from(projects)
      .where(and(inArray(projects.vcsProvider, [...new Set(providers)]), isNotNull(projects.repoUrl), isNotNull(projects.webhookSecretEnc)));
    return providers.map((p) => rows.filter((r) => r.vcsProvider === p));
  }, { inFlight: 1 });
}

async function candidates(deps: WebhookReceiver, forge: Forge, projectRef: string | undefined, payload: unknown): Promise<Project[]> {
  if (projectRef) {
    const p = await findProject(deps.db, projectRef);
    return p && p.vcsProvider === forge.provider ? [p] : [];
  }
  const keys = new Set(forge.repositoryUrls(payload).map(repoKey).filter((k): k is string => k !== null));
  if (keys.size === 0) return [];
  const rows = await deps.lookup.add(forge.provider);
  return rows.filter((p) => keys.has(repoKey(p.repoUrl!) ?? ""));
}

type NewDelivery = typeof webhookDeliveries.$inferInsert;
type Delivery = typeof webhookDeliveries.$inferSelect;

/**
 * Records deliveries, concurrent ones together in one INSERT (group commit: one commit and one
 * WAL flush for a burst, each sender answered after its row is committed). Resolves to the new
 * row, or undefined when the delivery id was recorded before (also earlier in the same batch).
 */
export type DeliveryRecorder = GroupCommit<NewDelivery, Delivery | undefined>;

function deliveryRecorder(db: Db): DeliveryRecorder {
  return new GroupCommit(async (batch) => {
    const key = (d: { provider: string; deliveryId: string }) => `${d.provider}\n${d.deliveryId}`;
    const firstAt = new Map<string, number>();
    batch.forEach((d, i) => firstAt.has(key(d)) || firstAt.set(key(d), i));
    const rows = await db
      .insert(webhookDeliveries)
      .values(batch.filter((d, i) => firstAt.get(key(d)) === i))
      .onConflictDoNothing({ target: [webhookDeliveries.provider, webhookDeliveries.deliveryId] })
      .returning();
    const made = new Map(rows.map((r) => [key(r), r]));
    return batch.map((d, i) => (firstAt.get(key(d)) === i ? made.get(key(d)) : undefined));
  });
}

/** What the webhook route keeps for its life: the database, the master keys, and the batched statements of its hot path. */
export interface WebhookReceiver {
  db: Db;
  keys: readonly MasterKey[];
  lookup: ProjectLookup;
  recorder: DeliveryRecorder;
}

export function webhookReceiver(db: Db, keys: readonly MasterKey[]): WebhookReceiver {
  return { db, keys, lookup: projectLookup(db), recorder: deliveryRecorder(db) };
}

export interface Received {
  status: 200 | 202;
  body: {
    id: string;
    delivery_id: string;
    duplicate: boolean;
    /** received: to be processed now; processed: nothing more to do (ignored or filtered). */
    status: string;
    outcome: WebhookDeliveryOutcome | null;
    event?: string;
    reason?: string | null;
  };
  /** The delivery waits for the processor. */
  pending: boolean;
}

export async function receiveDelivery(
  deps: WebhookReceiver,
  forge: Forge,
  request: { headers: Headers; raw: Uint8Array; projectRef?: string },
): Promise<Received> {
  const { db } = deps;
  const contentType = request.headers.get("content-type") ?? "";
  let payload: unknown;
  let parseError: unknown;
  try {
    payload = decodePayload(contentType, request.raw);
  } catch (error) {
    parseError = error;
  }
  const found = parseError && !request.projectRef ? [] : await candidates(deps, forge, request.projectRef, payload);
  let project: Project | undefined;
  for (const p of found) {
    const secret = openProjectField(deps.keys, p, "webhook_secret");
    if (secret !== undefined && forge.authentic(request.headers, request.raw, secret)) {
      project = p;
      break;
    }
  }
  if (!project) {
    // About the same work as a wrong signature, so the answer's timing does not tell either.
    if (found.length === 0) forge.authentic(request.headers, request.raw, hmacSha256Hex("reactorcide", request.raw));
    throw webhookUnauthorized();
  }
  // Authenticated from here on: now the delivery may be read and answered in detail.
  if (parseError) {
    if (parseError instanceof ApiError) throw parseError;
    throw new ApiError(400, "malformed_json", "the payload is not valid JSON", "payload");
  }
  const deliveryId = forge.deliveryId(request.headers);
  const eventName = forge.eventName(request.headers);
  const idHeader = forge.provider === "github" ? "X-GitHub-Delivery" : "Idempotency-Key or X-Gitlab-Event-UUID";
  if (!deliveryId || deliveryId.length > 200) throw badRequest(`the ${idHeader} header is required (up to 200 characters)`, idHeader);
  if (!eventName || eventName.length > 100) throw badRequest(`the ${forge.provider === "github" ? "X-GitHub-Event" : "X-Gitlab-Event"} header is required`, "event");

  const { outcome, reason, mapped } = classifyDelivery(forge, eventName, payload, project);
  const action = payload && typeof payload === "object" && typeof (payload as { action?: unknown }).action === "string" ? (payload as { action: string }).action : null;
  const row = await deps.recorder.add({
    projectId: project.id,
    provider: forge.provider,
    deliveryId,
    event: eventName,
    action: action ?? (payload as { object_attributes?: { action?: string } })?.object_attributes?.action ?? null,
    payloadSha256: createHash("sha256").update(request.raw).digest("hex"),
    payload,
    status: outcome ? "processed" : "received",
    outcome,
    reason,
    mapped: mapped ? { ...mapped } : null,
    processedAt: outcome ? new Date() : null,
  });
  if (!row) {
    const [earlier] = await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.provider, forge.provider), eq(webhookDeliveries.deliveryId, deliveryId)))
      .limit(1);
    return {
      status: 200,
      pending: false,
      body: { id: earlier?.id ?? "", delivery_id: deliveryId, duplicate: true, status: earlier?.status ?? "processed", outcome: earlier?.outcome ?? null, reason: "this delivery id was received before; nothing new starts" },
    };
  }
  return {
    status: 202,
    pending: row.status === "received",
    body: { id: row.id, delivery_id: deliveryId, duplicate: false, status: row.status, outcome: row.outcome, ...(mapped && !isCommand(mapped) ? { event: mapped.event } : {}), reason: row.reason },
  };
}
