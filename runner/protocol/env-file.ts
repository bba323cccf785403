/**
 * The env-file format, one writer and one reader: `KEY="value"` per line, `#` comments, optional
 * `export `, one pair of enclosing quotes stripped; inside double quotes \n, \r, \" and \\ are
 * escapes (as in dotenv), so any value without NUL, a PEM key too, fits on one line. The worker
 * writes job.env with formatEnvFile; the runner reads it with parseEnvFile.
 */
import { ENV_NAME_PATTERN } from "./patterns.ts";

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);
const ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r" };

/** A line parseEnvFile could not read: 1-based line number. */
export class EnvFileError extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is not KEY=VALUE with KEY of letters, digits and _ (starting with a letter or _)`);
    this.name = "EnvFileError";
  }
}

/** One `KEY="value"` line that parseEnvFile reads back exactly, whatever the value holds. */
export function formatEnvLine(key: string, value: string): string {
  return `${key}="${value.replace(/[\\"\n\r]/g, (c) => ESCAPES[c]!)}"`;
}

/** A whole file, one line per variable. */
export function formatEnvFile(env: Record<string, string>): string {
  return Object.entries(env).map(([k, v]) => formatEnvLine(k, v)).join("\n") + "\n";
}

function unescapeDoubleQuoted(value: string): string {
  return value.replace(/\\([\\"nr])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
}

/** Reads KEY=VALUE lines; a line that is none of blank, comment or KEY=VALUE throws EnvFileError. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const body = line.replace(/^export\s+/, "");
    const eq = body.indexOf("=");
    const key = eq > 0 ? body.slice(0, eq).trim() : "";
    if (!ENV_NAME.test(key)) throw new EnvFileError(index + 1);
    let value = body.slice(eq + 1);
    if (value.length >= 2 && value[0] === '"' && value.at(-1) === '"') value = unescapeDoubleQuoted(value.slice(1, -1));
    else if (value.length >= 2 && value[0] === "'" && value.at(-1) === "'") value = value.slice(1, -1);
    env[key] = value;
  });
  return env;
}
