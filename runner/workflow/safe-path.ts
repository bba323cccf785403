import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";

/**
 * Resolves a path a workflow names (job_file) inside its trusted root. Absolute paths, `..`
 * segments and links that lead outside the root are refused: a workflow must not read files
 * from elsewhere on the machine (or from the untrusted source checkout).
 */
export function resolveInsideRoot(root: string, path: string, field: string): string {
  if (path.includes("\0")) throw new Error(`${field}: contains a NUL byte`);
  if (isAbsolute(path)) throw new Error(`${field}: must be relative to the repository, got absolute "${path}"`);
  if (path.split(/[\\/]+/).includes("..")) throw new Error(`${field}: must not use "..", got "${path}"`);
  const full = join(root, path);
  if (!existsSync(full)) throw new Error(`${field}: "${path}" not found under ${root}`);
  const rel = relative(realpathSync(root), realpathSync(full));
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new Error(`${field}: "${path}" leads outside the repository through a link; refused`);
  }
  return full;
}
