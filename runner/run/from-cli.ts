/**
 * What `run` and `run-job` share: their flags, and a run from parsed flags (plus a job file for
 * run-job) through secrets, plugins and the pipeline to the process exit code.
 */
import { configArgs, resolveFromCli } from "../config/cli.ts";
import type { Flags } from "../config/resolve.ts";
import { Output } from "../output/output.ts";
import { runWithPlugins } from "../plugins/job.ts";
import { applySecretSources } from "./apply-secrets.ts";
import { secretArgs, secretSettingsFrom } from "../secrets/cli-args.ts";
import { EXIT_CONFIG, runResolved } from "./pipeline.ts";

export function runArgs() {
  return {
    ...configArgs(),
    ...secretArgs(),
    plugin: { type: "string" as const, description: "A plugin file to load as well as the CI checkout's .reactorcide/plugins" },
  };
}

/** The exit code of one run from the command line. */
export async function runFromCli(args: Flags & { plugin?: string }, jobFile?: string): Promise<number> {
  const output = new Output();
  // A plain copy: citty's args are a Proxy that works out camelCase and kebab-case spellings on
  // every read of a flag not given, and resolving reads every field's flag.
  const r = await resolveFromCli({ ...args }, jobFile);
  if (!applySecretSources(r, output, secretSettingsFrom(args, process.env))) return EXIT_CONFIG;
  // Plugins run around a real run only; --dry-run runs nothing, hooks included.
  return r.config.dry_run
    ? await runResolved(r, output)
    : await runWithPlugins(r, output, args.plugin ? [args.plugin] : [], (hooks) => runResolved(r, output, hooks));
}
