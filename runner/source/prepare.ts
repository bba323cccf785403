/**
 * Source preparation: puts a job's code or source into a directory, from git, a local directory
 * copy, a tarball, or nothing at all. The caller (the run layer) picks the target directory
 * (/job/ci, /job/src) and checks it lies inside the workspace; this validates the spec itself.
 * Except for `none`, the target ends up holding exactly the prepared source: previous content is
 * replaced only once preparation succeeded (see staging.ts).
 */
import { resolve } from "node:path";
import { SourceError } from "./error.ts";
import { ensureTargetDir } from "./staging.ts";
import { SOURCE_TYPES, type PreparedSource, type PrepareOptions, type SourceSpec, type SourceType } from "./types.ts";

export { SourceError } from "./error.ts";

export { SOURCE_TYPES, type PreparedSource, type PrepareOptions, type SourceSpec, type SourceType } from "./types.ts";

export async function prepareSource(spec: SourceSpec, targetDir: string, options: PrepareOptions = {}): Promise<PreparedSource> {
  options.signal?.throwIfAborted();
  const type = (spec as { type?: unknown }).type ?? "none";
  if (typeof type !== "string" || !(SOURCE_TYPES as readonly string[]).includes(type)) {
    throw new SourceError("source.type", `unknown source type ${JSON.stringify(type)}; supported: ${SOURCE_TYPES.join(", ")}`);
  }
  if (typeof targetDir !== "string" || targetDir === "") throw new SourceError("target", "missing: a target directory is required");
  if (spec.ref !== undefined && type !== "git") {
    throw new SourceError("source.ref", `a ref applies only to git sources, not to "${type}"`);
  }
  // Each kind's code (node-tar, node:fs/promises, git) loads when a source of that kind is prepared,
  // not at every start of the runner.
  switch (type as SourceType) {
    case "git":
      return (await import("./git.ts")).prepareGit(spec, targetDir, options);
    case "copy":
      return (await import("./copy.ts")).prepareCopy(spec, targetDir, options);
    case "tarball":
      return (await import("./tarball.ts")).prepareTarball(spec, targetDir, options);
    case "none":
      // Nothing to fetch (pre-mounted or no source); the directory is left as it is.
      ensureTargetDir(targetDir);
      options.log?.("source: none (nothing to prepare)");
      return { type: "none", dir: resolve(targetDir) };
  }
}
