import { join } from "node:path";

/**
 * The argv prefix that runs this runner again: the executable alone when compiled (its modules
 * live in Bun's embedded /$bunfs), or bun plus runner/main.ts from source. Workflows and scripts
 * re-enter the runner this way, so every job goes through the same `run-job` code path.
 */
export function runnerCommand(): string[] {
  const compiled = import.meta.path.startsWith("/$bunfs") || import.meta.path.startsWith("B:\\~BUN");
  return compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, "..", "main.ts")];
}

/** The runner's own environment minus REACTORCIDE_* settings, which must not leak into child jobs' config. */
export function childRunnerEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("REACTORCIDE_")) env[key] = value;
  }
  return { ...env, ...extra };
}
