/**
 * Job environment given as KEY=VALUE lines: inline (`--job-env 'A=1'`) or a file that must lie
 * inside the workspace (`/job/job.env`, a path relative to the workspace, or a host path inside
 * it). Strict on purpose: a malformed line is an error naming the line, never silently skipped.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, posix } from "node:path";
import { EnvFileError, formatEnvLine, parseEnvFile } from "../protocol/env-file.ts";
import { FieldError } from "../errors/problem.ts";
import { JOB_ROOT, assertInsideWorkspace, hostPath } from "./paths.ts";

const MAX_ENV_FILE_BYTES = 1 << 20;

/** True when the value is inline KEY=VALUE text rather than a file path. */
export function isInlineEnv(value: string): boolean {
  return value.includes("\n") || /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*=/.test(value);
}

export { formatEnvLine };

/** Parses env-file text (runner/protocol/env-file.ts); a bad line is a FieldError naming `field` and the line. */
export function parseEnvLines(text: string, field: string): Record<string, string> {
  try {
    return parseEnvFile(text);
  } catch (error) {
    if (error instanceof EnvFileError) throw new FieldError(field, error.message, "write one NAME=value per line");
    throw error;
  }
}

/** Where an env file given as `value` lives on the host; refused unless inside the workspace. */
export function envFilePath(workspace: string, value: string, field: string): string {
  const path = value.trim();
  let host: string;
  if (path === JOB_ROOT || path.startsWith(`${JOB_ROOT}/`)) host = hostPath(workspace, path, field);
  else if (isAbsolute(path)) host = path;
  else {
    if (posix.normalize(path).startsWith("..")) throw new FieldError(field, `env file "${path}" leaves the workspace`, "put the env file inside the workspace");
    host = join(workspace, path);
  }
  return assertInsideWorkspace(workspace, host, field);
}

/** The job environment a job_env value stands for (inline text or a file inside the workspace). */
export function loadJobEnv(workspace: string, value: string, field: string): Record<string, string> {
  if (!value.trim()) return {};
  if (isInlineEnv(value)) return parseEnvLines(value, field);
  const file = envFilePath(workspace, value, field);
  if (!existsSync(file)) throw new FieldError(field, `env file not found: ${value} (${file})`, "give KEY=VALUE lines inline or a file inside the workspace");
  const stat = statSync(file);
  if (!stat.isFile()) throw new FieldError(field, `env file is not a regular file: ${file}`);
  if (stat.size > MAX_ENV_FILE_BYTES) throw new FieldError(field, `env file is larger than 1 MiB: ${file}`);
  return parseEnvLines(readFileSync(file, "utf8"), field);
}
