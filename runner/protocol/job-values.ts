/**
 * The job's values that need no schema: container runtimes, source types and env values as the
 * process sees them. job.ts and job-spec.ts build their schemas on these and re-export them; the
 * runner's start (runner/config/fields.ts, resolve.ts) imports them from here, so a plain
 * `run --job-command ...` never loads TypeBox or builds a schema.
 */
import type { JobSpec } from "./job-spec.ts";

export const CONTAINER_RUNTIMES = ["docker", "nerdctl", "podman"] as const;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];

export const JOB_SOURCE_TYPES = ["git", "copy", "tarball", "none"] as const;
export type JobSourceType = (typeof JOB_SOURCE_TYPES)[number];

/** Job env values as the process sees them: numbers and booleans from YAML become strings. */
export function jobEnvStrings(env: JobSpec["env"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) out[key] = String(value);
  return out;
}
