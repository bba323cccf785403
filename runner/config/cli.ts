/**
 * What the run-layer commands share: the flags of every field, and turning flags, the
 * REACTORCIDE_* environment and an optional job file into a ResolvedConfig.
 */
import { fieldArgs } from "./fields.ts";
import { resolveConfig, type Flags, type ResolvedConfig } from "./resolve.ts";

export const configArgs = fieldArgs;

export async function resolveFromCli(flags: Flags, jobFile?: string): Promise<ResolvedConfig> {
  // The job file's schema (TypeBox) loads only with a job file: a plain `run`'s start skips it.
  const loaded = jobFile ? (await import("./job-file.ts")).loadJobFile(jobFile) : undefined;
  const resolved = resolveConfig({
    env: process.env,
    flags,
    ...(loaded?.spec ? { job: { spec: loaded.spec, file: jobFile! } } : {}),
  });
  if (loaded) {
    resolved.jobFile = jobFile;
    resolved.problems.unshift(...loaded.problems.map((p) => ({ ...p, field: p.field === "job file" ? p.field : `${jobFile}: ${p.field}` })));
  }
  return resolved;
}
