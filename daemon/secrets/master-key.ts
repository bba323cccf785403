import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { masterKey, type MasterKey } from "./cipher.ts";

export interface LoadedKey {
  key: MasterKey;
  /** Set when the key was generated into the data directory just now. */
  generatedAt?: string;
}

/**
 * REACTORCIDE_MASTER_KEY (base64 of 32 bytes) wins; otherwise `<dataDir>/master.key`, generated
 * (mode 0600) on first use. A malformed key is an error, never silently replaced.
 */
export async function loadMasterKey(dataDir: string, fromEnv = process.env.REACTORCIDE_MASTER_KEY): Promise<LoadedKey> {
  if (fromEnv) return { key: decode(fromEnv, "REACTORCIDE_MASTER_KEY") };
  const file = join(dataDir, "master.key");
  if (existsSync(file)) return { key: decode((await readFile(file, "utf8")).trim(), file) };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const bytes = randomBytes(32);
  // wx: two daemons starting at once never overwrite each other's key.
  await writeFile(file, bytes.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  return { key: masterKey(bytes), generatedAt: file };
}

function decode(text: string, where: string): MasterKey {
  const bytes = Buffer.from(text.trim(), "base64");
  if (bytes.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) {
    throw new Error(`${where}: master key must be base64 of exactly 32 bytes (e.g. \`openssl rand -base64 32\`)`);
  }
  return masterKey(bytes);
}
