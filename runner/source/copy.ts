/**
 * The `copy` source: the exact tree of a local directory (empty directories, modes, any file
 * names). Symbolic links are copied as links with their text unchanged and are never followed, so
 * nothing outside the source directory is read.
 */
import { realpathSync } from "node:fs";
import { cp } from "node:fs/promises";
import { relative, resolve, sep } from "node:path";
import { SourceError } from "./error.ts";
import { localDirectory } from "./location.ts";
import type { PreparedSource, PrepareOptions, SourceSpec } from "./types.ts";
import { dropSpecialModes, replaceTargetWith } from "./staging.ts";

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export async function prepareCopy(spec: SourceSpec, targetDir: string, options: PrepareOptions = {}): Promise<PreparedSource> {
  const source = realpathSync(localDirectory(spec.url, "copy"));
  const target = realpathOrSelf(resolve(targetDir));
  if (inside(source, target) || inside(target, source)) {
    throw new SourceError("source.url", `"${source}" and the target "${target}" overlap; copy into a directory outside the source`);
  }
  const log = options.log ?? (() => {});
  log(`copy: ${source} -> ${target}`);
  await replaceTargetWith(targetDir, async (stage) => {
    options.signal?.throwIfAborted();
    await cp(source, stage, { recursive: true, verbatimSymlinks: true, dereference: false, errorOnExist: false, force: true });
    dropSpecialModes(stage);
    options.signal?.throwIfAborted();
  });
  log("copy: done");
  return { type: "copy", dir: resolve(targetDir) };
}
