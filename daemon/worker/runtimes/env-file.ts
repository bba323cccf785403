import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefusedError } from "./runtime.ts";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `KEY=VALUE` lines as Docker-compatible CLIs read them with `--env-file`: the value is taken
 * literally to the end of the line, so a value cannot hold a newline and a name must be plain.
 */
export function envFileText(env: Record<string, string>): string {
  let text = "";
  for (const [key, value] of Object.entries(env)) {
    if (!NAME.test(key)) throw new RefusedError(`env: "${key}" is not a valid variable name (letters, digits, _; not starting with a digit)`);
    if (/[\r\n\0]/.test(value)) {
      throw new RefusedError(`env.${key}: a value passed to a container cannot contain a newline or NUL (env files hold one line per variable)`);
    }
    text += `${key}=${value}\n`;
  }
  return text;
}

/** Writes the env file into a fresh private directory (0700, file 0600); `dispose` removes both. */
export async function privateEnvFile(env: Record<string, string>): Promise<{ path: string; dispose: () => Promise<void> }> {
  const text = envFileText(env);
  const dir = await mkdtemp(join(tmpdir(), "reactorcide-env-"));
  const path = join(dir, "job.env");
  await writeFile(path, text, { mode: 0o600 });
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}
