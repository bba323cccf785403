/**
 * Refuses workspaces whose emptying or filling would hurt: the root, system directories, the home
 * directory, and the current directory or any of its parents (`--workspace .` in a checkout).
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { relative, resolve, sep } from "node:path";
import { FieldError } from "../errors/problem.ts";
import { JOB_ROOT } from "./paths.ts";

const SYSTEM_DIRS = ["/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var"];

function real(path: string): string {
  return existsSync(path) ? realpathSync(path) : resolve(path);
}

function isSameOrAncestor(ancestor: string, path: string): boolean {
  const rel = relative(ancestor, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

/** Throws a FieldError (naming `field`) when `workspace` is not a safe place to write and empty. */
export function assertSafeWorkspace(workspace: string, field = "workspace", cwd = process.cwd()): string {
  const path = real(workspace);
  if (path === "/" || SYSTEM_DIRS.includes(path)) {
    throw new FieldError(field, `refusing ${workspace}: a system directory cannot be a workspace`, "use a dedicated directory such as ./job");
  }
  if (path === real(homedir())) throw new FieldError(field, `refusing ${workspace}: the home directory cannot be a workspace`, "use a dedicated directory such as ./job");
  if (path !== JOB_ROOT && isSameOrAncestor(path, real(cwd))) {
    throw new FieldError(field, `refusing ${workspace}: it is the current directory or one of its parents`, "use a dedicated directory such as ./job");
  }
  if (existsSync(path) && !statSync(path).isDirectory()) throw new FieldError(field, `${workspace} exists and is not a directory`);
  return path;
}
