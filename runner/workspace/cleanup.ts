import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { assertSafeWorkspace } from "./safety.ts";

/**
 * Empties the workspace (the directory itself stays). Symlinks are removed, never followed, so a
 * link planted by a job cannot make cleanup delete anything outside. Returns the entries removed.
 */
export function emptyWorkspace(workspace: string, cwd?: string): string[] {
  const root = assertSafeWorkspace(workspace, "workspace", cwd);
  if (!existsSync(root)) return [];
  const entries = readdirSync(root);
  for (const entry of entries) rmSync(join(root, entry), { recursive: true, force: true });
  return entries;
}
