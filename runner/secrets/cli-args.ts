/**
 * The secret-source flags of `run` / `run-job` and their REACTORCIDE_* variables. Unlike other
 * settings, a variable set to the empty string counts as given: it means "mask nothing".
 */
import { SECRET_FLAGS, type SecretSettings } from "./sources.ts";

type Key = keyof typeof SECRET_FLAGS;
const KEYS = Object.keys(SECRET_FLAGS) as Key[];

const DESCRIPTIONS: Record<Key, string> = {
  valuesList: "Secret values to mask: a comma list, or a file inside the workspace with one per line",
  envNames: "Job variables whose values are secret (comma list)",
  secretsFile: "KEY=VALUE file: values are masked and given to the job through its environment only",
  mask: "Text printed in place of each secret (default ***)",
};

export function secretArgs(): Record<string, { type: "string"; description: string }> {
  const args: Record<string, { type: "string"; description: string }> = {};
  for (const key of KEYS) args[SECRET_FLAGS[key].flag] = { type: "string", description: `${DESCRIPTIONS[key]} [${SECRET_FLAGS[key].env}]` };
  return args;
}

/** Flags over environment; a setting neither gives is left undefined (the default applies). */
export function secretSettingsFrom(flags: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): SecretSettings {
  const settings: SecretSettings = { labels: {} };
  for (const key of KEYS) {
    const { flag, env: name } = SECRET_FLAGS[key];
    const fromFlag = flags[flag];
    if (typeof fromFlag === "string") {
      settings[key] = fromFlag;
      settings.labels![key] = `--${flag}`;
    } else if (env[name] !== undefined) {
      settings[key] = env[name];
      settings.labels![key] = name;
    }
  }
  return settings;
}
