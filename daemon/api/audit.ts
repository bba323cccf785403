import { auditLog } from "../../schema/app/index.ts";
import type { Principal } from "../auth/tokens.ts";
import type { Db } from "../db/client.ts";

/** Records who did what. Callers pass names and ids only, never secret values. */
export async function audit(
  db: Db,
  who: Principal,
  action: string,
  targetType: string,
  targetId: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await db.insert(auditLog).values({ userId: who.userId, tokenId: who.tokenId, action, targetType, targetId, details });
}
