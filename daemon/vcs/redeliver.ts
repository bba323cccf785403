import { eq } from "drizzle-orm";
import { webhookDeliveries } from "../../schema/app/index.ts";
import type { Project } from "../api/access.ts";
import type { Db } from "../db/client.ts";
import { classifyDelivery } from "./classify.ts";
import { FORGES } from "./forges.ts";

type Delivery = typeof webhookDeliveries.$inferSelect;

/**
 * An admin's "process this again": the stored payload is mapped and filtered again under the
 * project's settings of now; if it passes, the delivery is `received` again and the processor
 * starts a new eval job for it.
 */
export async function redeliver(db: Db, row: Delivery, project: Project): Promise<Delivery> {
  const forge = FORGES[row.provider as keyof typeof FORGES];
  const { outcome, reason, mapped } = forge ? classifyDelivery(forge, row.event, row.payload, project) : { outcome: "ignored" as const, reason: `unknown provider ${row.provider}`, mapped: null };
  const [updated] = await db
    .update(webhookDeliveries)
    .set({
      status: outcome ? "processed" : "received",
      outcome,
      reason: outcome ? reason : "redelivery requested",
      mapped: mapped ? { ...mapped } : null,
      attempts: 0,
      processedAt: outcome ? new Date() : null,
    })
    .where(eq(webhookDeliveries.id, row.id))
    .returning();
  return updated!;
}
