/**
 * Prepares a source into a staging directory inside the target and only swaps it in once it is
 * complete, so a failed preparation leaves the target as it was (never half-written). Staging sits
 * inside the target so the final moves are renames on one file system even when the target is a
 * mount point.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, rmdirSync } from "node:fs";
import { join, parse, resolve } from "node:path";
import { SourceError } from "./error.ts";

export const STAGING_PREFIX = ".reactorcide-staging-";

/** Creates the target directory when missing; refuses a file there and the file-system root. */
export function ensureTargetDir(targetDir: string): string {
  const dir = resolve(targetDir);
  if (parse(dir).root === dir) throw new SourceError("target", `refusing to prepare a source into the root directory "${dir}"`);
  let isDir = false;
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new SourceError("target", `"${dir}" exists and is not a directory`);
    isDir = true;
  } catch (error) {
    if (error instanceof SourceError) throw error;
  }
  if (!isDir) mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs `fill(stageDir)`; on success the target holds exactly what `fill` produced. */
export async function replaceTargetWith<T>(targetDir: string, fill: (stageDir: string) => Promise<T>): Promise<T> {
  const dir = ensureTargetDir(targetDir);
  const stage = mkdtempSync(join(dir, STAGING_PREFIX));
  let result: T;
  try {
    result = await fill(stage);
  } catch (error) {
    rmSync(stage, { recursive: true, force: true });
    throw error;
  }
  const stageName = stage.slice(dir.length + 1);
  for (const name of readdirSync(dir)) {
    if (name !== stageName) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const name of readdirSync(stage)) renameSync(join(stage, name), join(dir, name));
  rmdirSync(stage);
  return result;
}

/**
 * Clears setuid, setgid and sticky bits under `dir` (links are not followed). Files from an
 * archive or a copied directory are owned by the runner, maybe root: a setuid bit the source's
 * author chose would make a setuid-root program of them.
 */
export function dropSpecialModes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.mode & 0o7000) chmodSync(path, stat.mode & 0o777);
    if (stat.isDirectory()) dropSpecialModes(path);
  }
}
