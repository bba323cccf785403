/** Notification rules: stored per project, the webhook URL and secret sealed under the master key. */
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import {
  notificationDeliveries,
  notificationRules,
  type NotifyOn,
  type SealedWebhook,
  type StoredTarget,
} from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import { open, seal, type MasterKey } from "../secrets/cipher.ts";
import { urlOrigin } from "./targets.ts";

export type Rule = typeof notificationRules.$inferSelect;
export type Delivery = typeof notificationDeliveries.$inferSelect;

export type TargetInput = { type: "email"; to: string[] } | { type: "webhook"; url: string; secret?: string };

export interface RuleInput {
  on: NotifyOn;
  jobs: boolean;
  branches: string[];
  events: string[];
  target: TargetInput;
}

// Bound to the rule's id, so sealed values copied to another rule do not open.
const sealContext = (ruleId: string) => `notification:${ruleId}:webhook`;

export async function createRule(db: Db, key: MasterKey, projectId: string, createdBy: string, input: RuleInput): Promise<Rule> {
  const id = crypto.randomUUID();
  let target: StoredTarget;
  let sealed: { sealedNonce: Buffer; sealedValue: Buffer; sealedKeyId: string } | undefined;
  if (input.target.type === "email") {
    target = { type: "email", to: input.target.to };
  } else {
    const value: SealedWebhook = { url: input.target.url, ...(input.target.secret && { secret: input.target.secret }) };
    const s = seal(key, JSON.stringify(value), sealContext(id));
    sealed = { sealedNonce: s.nonce, sealedValue: s.ciphertext, sealedKeyId: s.keyId };
    target = { type: "webhook", origin: urlOrigin(input.target.url), signed: Boolean(input.target.secret) };
  }
  const [row] = await db
    .insert(notificationRules)
    .values({ id, projectId, on: input.on, jobs: input.jobs, branches: input.branches, events: input.events, target, createdBy, ...sealed })
    .returning();
  return row!;
}

/** The webhook's URL and secret; throws when the rule has none or the master key cannot open them. */
export function openWebhook(rule: Rule, keys: readonly MasterKey[]): SealedWebhook {
  if (!rule.sealedNonce || !rule.sealedValue || !rule.sealedKeyId) throw new Error("the rule has no webhook URL stored");
  const text = open(keys, { nonce: rule.sealedNonce, ciphertext: rule.sealedValue, keyId: rule.sealedKeyId }, sealContext(rule.id));
  return JSON.parse(text) as SealedWebhook;
}

export async function listRules(db: Db, projectId: string): Promise<Rule[]> {
  return db.select().from(notificationRules).where(eq(notificationRules.projectId, projectId)).orderBy(notificationRules.createdAt, notificationRules.id);
}

export async function getRule(db: Db, projectId: string, id: string): Promise<Rule | undefined> {
  const [row] = await db
    .select()
    .from(notificationRules)
    .where(and(eq(notificationRules.projectId, projectId), eq(notificationRules.id, id)))
    .limit(1);
  return row;
}

/** Deletes the rule and, with it, its pending deliveries. */
export async function deleteRule(db: Db, projectId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(notificationRules)
    .where(and(eq(notificationRules.projectId, projectId), eq(notificationRules.id, id)))
    .returning({ id: notificationRules.id });
  return rows.length > 0;
}

/** The newest `perRule` deliveries of each rule, newest first. */
export async function recentDeliveries(db: Db, ruleIds: string[], perRule = 5): Promise<Map<string, Delivery[]>> {
  const byRule = new Map<string, Delivery[]>(ruleIds.map((id) => [id, []]));
  if (ruleIds.length === 0) return byRule;
  const ranked = db
    .select({ id: notificationDeliveries.id, n: sql<number>`row_number() over (partition by ${notificationDeliveries.ruleId} order by ${notificationDeliveries.createdAt} desc)`.as("n") })
    .from(notificationDeliveries)
    .where(inArray(notificationDeliveries.ruleId, ruleIds))
    .as("ranked");
  const rows = await db
    .select({ d: notificationDeliveries })
    .from(notificationDeliveries)
    .innerJoin(ranked, eq(ranked.id, notificationDeliveries.id))
    .where(sql`${ranked.n} <= ${perRule}`)
    .orderBy(desc(notificationDeliveries.createdAt));
  for (const { d } of rows) byRule.get(d.ruleId)?.push(d);
  return byRule;
}
