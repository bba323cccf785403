/**
 * Which values a job's output masks, before the job starts:
 * - `--secret-values-list`: a comma list, or a file inside the workspace with one value per line;
 * - `--secret-env-names A,B`: the values of those job variables;
 * - `--secrets-file`: KEY=VALUE lines whose values are masked and reach the job's environment
 *   (through the environment only: never a command line, `ps`, or a log).
 * With none of these given, every job variable whose name does not start with REACTORCIDE_ is a
 * secret. Giving any of them replaces that default; given empty, it masks nothing.
 */
import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { FieldError } from "../errors/problem.ts";
import { envFilePath, parseEnvLines } from "../workspace/env-file.ts";

const MAX_FILE_BYTES = 1 << 20;

export interface SecretSettings {
  /** Each is undefined when not given at all, "" when given empty. */
  valuesList?: string;
  envNames?: string;
  secretsFile?: string;
  /** The text printed in place of each secret (default `***`); not a source, so it keeps the default sources. */
  mask?: string;
  /** How each setting was named by the user, for error messages (default: its flag). */
  labels?: { valuesList?: string; envNames?: string; secretsFile?: string; mask?: string };
}

export interface JobSecrets {
  /** Values to register with the Masker. */
  values: string[];
  /** Variables from the secrets file, for the job's environment. */
  env: Record<string, string>;
  /** Names in the env-names list that the job environment does not define. */
  missingEnvNames: string[];
  /** True when no setting was given and the job environment was taken as secret. */
  usedDefault: boolean;
}

export const SECRET_FLAGS = {
  valuesList: { flag: "secret-values-list", env: "REACTORCIDE_SECRET_VALUES_LIST" },
  envNames: { flag: "secret-env-names", env: "REACTORCIDE_SECRET_ENV_NAMES" },
  secretsFile: { flag: "secrets-file", env: "REACTORCIDE_SECRETS_FILE" },
  mask: { flag: "secret-mask", env: "REACTORCIDE_SECRET_MASK" },
} as const;

const MAX_MASK_LENGTH = 64;

/** The mask text of a run, or undefined for the default; throws FieldError when unusable. */
export function maskFrom(settings: SecretSettings): string | undefined {
  const mask = settings.mask;
  if (mask === undefined) return undefined;
  // A mask that is empty or breaks lines would hide where a secret was, or forge output lines.
  if (mask.length === 0 || mask.length > MAX_MASK_LENGTH || /[\u0000-\u001f\u007f]/.test(mask)) {
    throw new FieldError(settings.labels?.mask ?? `--${SECRET_FLAGS.mask.flag}`, `must be 1 to ${MAX_MASK_LENGTH} printable characters (no line breaks or control characters); got ${JSON.stringify(mask)}`);
  }
  return mask;
}

function readSmallFile(path: string, field: string, what: string): string {
  if (!existsSync(path)) throw new FieldError(field, `${what} not found: ${path}`);
  const info = statSync(path);
  if (!info.isFile()) throw new FieldError(field, `${what} is not a regular file: ${path}`);
  if (info.size > MAX_FILE_BYTES) throw new FieldError(field, `${what} is larger than 1 MiB: ${path}`);
  return readFileSync(path, "utf8");
}

/** Whether a --secret-values-list value names a file rather than listing values. */
function looksLikeFile(workspace: string, value: string): boolean {
  if (/^(\/job\/|\.\.?\/)/.test(value)) return true; // written as a path: a missing file is an error
  if (value.includes(",")) return false;
  // Where it would be, before any safety check (envFilePath refuses it later if it leads out).
  const candidate = isAbsolute(value) ? value : join(workspace, value);
  try {
    lstatSync(candidate);
    return true;
  } catch {
    return false;
  }
}

function valuesFromList(workspace: string, value: string, field: string): string[] {
  if (!value.trim()) return [];
  if (looksLikeFile(workspace, value.trim())) {
    const path = envFilePath(workspace, value, field); // refuses a path outside the workspace
    return readSmallFile(path, field, "secret values file")
      .split(/\r?\n/)
      .filter((line) => line.length > 0);
  }
  return value
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function namesList(value: string): string[] {
  return value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
}

/** The secrets of one job run; throws FieldError naming the setting on bad input. */
export function resolveJobSecrets(settings: SecretSettings, jobEnv: Readonly<Record<string, string>>, workspace: string): JobSecrets {
  const label = (key: keyof typeof SECRET_FLAGS) => settings.labels?.[key] ?? `--${SECRET_FLAGS[key].flag}`;
  const given = settings.valuesList !== undefined || settings.envNames !== undefined || settings.secretsFile !== undefined;
  const values: string[] = [];
  const missingEnvNames: string[] = [];
  let env: Record<string, string> = {};

  if (settings.secretsFile !== undefined && settings.secretsFile.trim()) {
    const field = label("secretsFile");
    env = parseEnvLines(readSmallFile(settings.secretsFile.trim(), field, "secrets file"), field);
    values.push(...Object.values(env));
  }
  if (!given) {
    for (const [name, value] of Object.entries(jobEnv)) if (!name.startsWith("REACTORCIDE_")) values.push(value);
    return { values, env, missingEnvNames, usedDefault: true };
  }
  if (settings.valuesList !== undefined) values.push(...valuesFromList(workspace, settings.valuesList, label("valuesList")));
  if (settings.envNames !== undefined) {
    for (const name of namesList(settings.envNames)) {
      const value = jobEnv[name] ?? env[name];
      if (value === undefined) missingEnvNames.push(name);
      else values.push(value);
    }
  }
  return { values, env, missingEnvNames, usedDefault: false };
}
