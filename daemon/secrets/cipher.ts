import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** The 32-byte master key that seals secrets, and a short id recorded beside each value for rotation. */
export interface MasterKey {
  readonly id: string;
  readonly bytes: Buffer;
}

export function masterKey(bytes: Buffer): MasterKey {
  if (bytes.length !== 32) throw new Error(`master key must be 32 bytes, got ${bytes.length}`);
  return { id: createHash("sha256").update(bytes).digest("hex").slice(0, 16), bytes };
}

export interface Sealed {
  nonce: Buffer;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
  keyId: string;
}

/**
 * AES-256-GCM with a fresh 12-byte nonce per value. `context` (e.g. project id and key) is bound
 * as additional data, so a sealed value copied to another row does not decrypt.
 */
export function seal(key: MasterKey, plaintext: string, context: string): Sealed {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, nonce);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { nonce, ciphertext: body, keyId: key.id };
}

/** Opens a value sealed by `seal`; keys lists the current master key and any older ones. */
export function open(keys: readonly MasterKey[], sealed: Sealed, context: string): string {
  const key = keys.find((k) => k.id === sealed.keyId);
  if (!key) throw new Error(`no master key with id ${sealed.keyId} (was the master key rotated away?)`);
  const tag = sealed.ciphertext.subarray(sealed.ciphertext.length - 16);
  const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - 16);
  const decipher = createDecipheriv("aes-256-gcm", key.bytes, sealed.nonce);
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
}
