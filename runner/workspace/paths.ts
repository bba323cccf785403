/**
 * /job is the only directory a job sees; on the host it is the workspace. Every job path is
 * checked here: absolute, inside /job after normalisation, and mapped onto the workspace. Host
 * paths are checked against the workspace's real path so symlinks cannot lead writes outside it.
 */
import { existsSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import { FieldError } from "../errors/problem.ts";

import { JOB_ROOT } from "../protocol/runner-env.ts";
export { JOB_ROOT };


/** `/job/./src/../ci` → `/job/ci`; refuses relative paths and anything outside /job. */
export function normalizeJobPath(path: string, field: string): string {
  if (path.includes("\0")) throw new FieldError(field, "contains a NUL byte");
  if (!posix.isAbsolute(path)) {
    throw new FieldError(field, `must be an absolute path inside ${JOB_ROOT}, got "${path}"`, `use ${posix.join(JOB_ROOT, path)}`);
  }
  const normal = posix.normalize(path).replace(/\/+$/, "") || "/";
  if (normal !== JOB_ROOT && !normal.startsWith(`${JOB_ROOT}/`)) {
    throw new FieldError(field, `must be inside ${JOB_ROOT} after normalisation, got "${path}" (${normal})`, `use a path under ${JOB_ROOT}/, e.g. ${JOB_ROOT}/src`);
  }
  return normal;
}

/** The host path a (normalised) job path stands for. */
export function hostPath(workspace: string, jobPath: string, field: string): string {
  const normal = normalizeJobPath(jobPath, field);
  return join(workspace, normal.slice(JOB_ROOT.length));
}

function realOfNearestExisting(path: string): string {
  let current = resolve(path);
  const rest: string[] = [];
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) break;
    rest.unshift(current.slice(parent.length).replace(/^\//, ""));
    current = parent;
  }
  return join(realpathSync(current), ...rest);
}

/** True when `path` (following any symlinks that exist) lies inside `workspace` (or is it). */
export function isInsideWorkspace(workspace: string, path: string): boolean {
  const root = realOfNearestExisting(workspace);
  const target = realOfNearestExisting(path);
  const rel = relative(root, target);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** Throws unless `path` resolves inside the workspace; returns it for chaining. */
export function assertInsideWorkspace(workspace: string, path: string, field: string): string {
  if (!isInsideWorkspace(workspace, path)) {
    throw new FieldError(field, `resolves outside the workspace ${workspace}: ${path}`, "keep it inside the workspace (no symlinks out)");
  }
  return path;
}
