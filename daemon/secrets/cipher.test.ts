import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { masterKey, open, seal } from "./cipher.ts";
import { loadMasterKey } from "./master-key.ts";

const key = masterKey(Buffer.alloc(32, 1));
const other = masterKey(Buffer.alloc(32, 2));

describe("AES-256-GCM sealing", () => {
  test("round-trips text, with a fresh nonce per value", () => {
    const a = seal(key, "hunter2 ✓", "ctx");
    const b = seal(key, "hunter2 ✓", "ctx");
    expect(a.nonce).toHaveLength(12);
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(open([key], a, "ctx")).toBe("hunter2 ✓");
    expect(a.keyId).toBe(key.id);
  });

  test("refuses a tampered value, another context, or a key it was not sealed with", () => {
    const sealed = seal(key, "value", "project-a:KEY");
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0]! ^= 1;
    expect(() => open([key], { ...sealed, ciphertext: flipped }, "project-a:KEY")).toThrow();
    expect(() => open([key], sealed, "project-b:KEY")).toThrow();
    expect(() => open([other], sealed, "project-a:KEY")).toThrow(/no master key with id/);
    // Rotation: the old key among the accepted ones still opens it.
    expect(open([other, key], sealed, "project-a:KEY")).toBe("value");
  });
});

describe("master key", () => {
  test("is generated once into the data directory with mode 0600, then reused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rc-key-"));
    const first = await loadMasterKey(dir, "");
    expect(first.generatedAt).toBe(join(dir, "master.key"));
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
    const second = await loadMasterKey(dir, "");
    expect(second.generatedAt).toBeUndefined();
    expect(second.key.id).toBe(first.key.id);
    expect(Buffer.from(readFileSync(join(dir, "master.key"), "utf8").trim(), "base64")).toHaveLength(32);
  });

  test("REACTORCIDE_MASTER_KEY wins and must be base64 of 32 bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rc-key-"));
    const b64 = Buffer.alloc(32, 9).toString("base64");
    expect((await loadMasterKey(dir, b64)).key.id).toBe(masterKey(Buffer.alloc(32, 9)).id);
    await expect(loadMasterKey(dir, Buffer.alloc(16).toString("base64"))).rejects.toThrow(/REACTORCIDE_MASTER_KEY: master key must be base64 of exactly 32 bytes/);
    await expect(loadMasterKey(dir, "not base64 at all!")).rejects.toThrow(/REACTORCIDE_MASTER_KEY/);
  });
});
