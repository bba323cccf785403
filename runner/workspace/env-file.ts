/**
 * Job environment given as KEY=VALUE lines: inline (`--job-env 'A=1'`) or a file that must lie
 * inside the workspace (`/job/job.env`, a path relative to the workspace, or a host path inside
 * it). Strict on purpose: a malformed line is an error naming the line, never silently skipped.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, posix } from "node:path";
import { ENV_NAME_PATTERN } from "../protocol/job-spec.ts";
import { FieldError } from "../config/problem.ts";
import { JOB_ROOT, assertInsideWorkspace, hostPath } from "./paths.ts";

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);
const MAX_ENV_FILE_BYTES = 1 << 20;

/** True when the value is inline KEY=VALUE text rather than a file path. */
export function isInlineEnv(value: string): boolean {
  return value.includes("\n") || /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*=/.test(value);
}

const ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r" };

/**
 * One `KEY="value"` line that parseEnvLines reads back exactly, whatever the value holds: a
 * backslash, a double quote and line breaks are escaped (so a PEM key fits on one line).
 */
export function formatEnvLine(key: string, value: string): string {
  return `${key}="${value.replace(/[\\"\n\r]/g, (c) => ESCAPES[c]!)}"`;
}

/** Inside double quotes, \n, \r, \" and \\ stand for a line break, a carriage return, " and \ (as in dotenv). */
function unescapeDoubleQuoted(value: string): string {
  return value.replace(/\\([\\"nr])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
}

/**
 * Parses KEY=VALUE lines (blank lines and # comments allowed; one pair of quotes stripped, and
 * escapes read inside double quotes).
 */
export function parseEnvLines(text: string, field: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const body = line.replace(/^export\s+/, "");
    const eq = body.indexOf("=");
    const key = eq > 0 ? body.slice(0, eq).trim() : "";
    if (!ENV_NAME.test(key)) {
      throw new FieldError(field, `line ${index + 1} is not KEY=VALUE with KEY of letters, digits and _ (starting with a letter or _)`, "write one NAME=value per line");
    }
    let value = body.slice(eq + 1);
    if (value.length >= 2 && value[0] === '"' && value.at(-1) === '"') value = unescapeDoubleQuoted(value.slice(1, -1));
    else if (value.length >= 2 && value[0] === "'" && value.at(-1) === "'") value = value.slice(1, -1);
    env[key] = value;
  });
  return env;
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
