import { createHmac, timingSafeEqual } from "node:crypto";

/** Equal strings, compared in time that does not depend on where they differ (nor, beyond length, on their content). */
export function equalConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

export function hmacSha256Hex(secret: string, body: Uint8Array): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}
