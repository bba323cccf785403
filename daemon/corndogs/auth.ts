import { Metadata, status, type StatusObject } from "@grpc/grpc-js";
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * The shared-token guard: with a token, every call must carry metadata
 * `authorization: Bearer <token>`; returns the refusal to send, or undefined to let it through.
 */
export function tokenGuard(token: string | undefined): (metadata: Metadata) => Partial<StatusObject> | undefined {
  if (!token) return () => undefined;
  // Compared as fixed-length digests in constant time, so timing says nothing about the token.
  const expected = digest(`Bearer ${token}`);
  return (metadata) => {
    const sent = metadata.get("authorization")[0];
    if (typeof sent === "string" && timingSafeEqual(digest(sent), expected)) return undefined;
    return {
      code: status.UNAUTHENTICATED,
      details: sent === undefined ? "missing authorization metadata (Bearer token)" : "invalid token",
    };
  };
}

/** Metadata carrying the token, as a client sends it. */
export function bearerMetadata(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}
