import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { secrets } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import { open, seal, type MasterKey } from "./cipher.ts";


// The row's place is bound into the ciphertext: a value moved to another key does not open.
const context = (projectId: string, path: string, key: string) => `secret:${projectId}:${path}:${key}`;

export async function putSecret(db: Db, key: MasterKey, projectId: string, name: string, value: string, path = ""): Promise<"created" | "updated"> {
  const sealed = seal(key, value, context(projectId, path, name));
  const [row] = await db
    .insert(secrets)
    .values({ projectId, path, key: name, nonce: sealed.nonce, ciphertext: sealed.ciphertext, keyId: sealed.keyId })
    .onConflictDoUpdate({
      target: [secrets.projectId, secrets.path, secrets.key],
      set: {
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        keyId: sealed.keyId,
        version: sql`${secrets.version} + 1`,
        updatedAt: new Date(),
      },
    })
    .returning({ version: secrets.version });
  return row!.version === 1 ? "created" : "updated";
}

export async function deleteSecret(db: Db, projectId: string, name: string, path = ""): Promise<boolean> {
  const rows = await db
    .delete(secrets)
    .where(and(eq(secrets.projectId, projectId), eq(secrets.path, path), eq(secrets.key, name)))
    .returning({ id: secrets.id });
  return rows.length > 0;
}

/** Keys and timestamps only: values never leave through a listing. */
export async function listSecretKeys(db: Db, projectId: string) {
  return db
    .select({ key: secrets.key, path: secrets.path, version: secrets.version, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
    .from(secrets)
    .where(eq(secrets.projectId, projectId))
    .orderBy(asc(secrets.path), asc(secrets.key));
}

export async function existingSecretKeys(db: Db, projectId: string, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await db
    .select({ key: secrets.key })
    .from(secrets)
    .where(and(eq(secrets.projectId, projectId), eq(secrets.path, ""), inArray(secrets.key, [...names])));
  return new Set(rows.map((r) => r.key));
}

/** Decrypted values of the named secrets (those that still exist) for injection into a job. */
export async function resolveSecrets(db: Db, keys: readonly MasterKey[], projectId: string, names: readonly string[]): Promise<Record<string, string>> {
  if (names.length === 0) return {};
  const rows = await db
    .select()
    .from(secrets)
    .where(and(eq(secrets.projectId, projectId), eq(secrets.path, ""), inArray(secrets.key, [...names])));
  const out: Record<string, string> = {};
  for (const row of rows) out[row.key] = open(keys, row, context(projectId, row.path, row.key));
  return out;
}
