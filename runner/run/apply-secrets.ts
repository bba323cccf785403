/**
 * Puts a run's secret sources to work before anything is printed: their values go to the
 * output's Masker and the secrets file's variables join the job environment (the run layer
 * hands the job its environment through the process environment or an env file, never argv).
 */
import type { Origin } from "../config/fields.ts";
import { FieldError } from "../errors/problem.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import type { Output } from "../output/output.ts";
import { maskFrom, resolveJobSecrets, type SecretSettings } from "../secrets/sources.ts";

/** False (after printing why) when a setting is unusable; the run must then stop. */
export function applySecretSources(r: ResolvedConfig, output: Output, settings: SecretSettings): boolean {
  let secrets;
  try {
    const mask = maskFrom(settings);
    if (mask !== undefined) output.masker.setMask(mask);
    secrets = resolveJobSecrets(settings, r.jobEnv, r.config.workspace);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    output.log.error(error.message);
    return false;
  }
  output.masker.register(secrets.values);
  if (secrets.missingEnvNames.length > 0) {
    output.log.warn(`${settings.labels?.envNames ?? "--secret-env-names"}: not in the job environment: ${secrets.missingEnvNames.join(", ")}`);
  }
  const origin: Origin = settings.labels?.secretsFile?.startsWith("--") === false ? "environment" : "flag";
  for (const [name, value] of Object.entries(secrets.env)) {
    r.jobEnv[name] = value;
    r.jobEnvOrigins[name] = origin;
  }
  return true;
}
