import type { Project } from "../api/access.ts";
import { open, type MasterKey } from "../secrets/cipher.ts";

/** A project's webhook_secret or vcs_token, sealed by daemon/api/routes/projects.ts (nonce || ciphertext, bound to name and field). */
export function openProjectField(keys: readonly MasterKey[], project: Project, field: "webhook_secret" | "vcs_token"): string | undefined {
  const sealed = field === "webhook_secret" ? project.webhookSecretEnc : project.vcsTokenEnc;
  if (!sealed || !project.encKeyId) return undefined;
  return open(keys, { nonce: sealed.subarray(0, 12), ciphertext: sealed.subarray(12), keyId: project.encKeyId }, `project:${project.name}:${field}`);
}
