import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { Output } from "../output/output.ts";
import { runWithPlugins } from "../plugins/job.ts";
import { EXIT_CONFIG, runResolved } from "../run/pipeline.ts";
import { applySecretSources } from "../secrets/apply.ts";
import { secretArgs, secretSettingsFrom } from "../secrets/cli-args.ts";

export default defineCommand({
  meta: {
    name: "run-job",
    description: "Run a job from a YAML or JSON file (defaults < REACTORCIDE_* environment < job file < flags)",
  },
  args: {
    file: { type: "positional", required: true, description: "The job file (.yaml, .yml or .json)" },
    ...configArgs(),
    ...secretArgs(),
    plugin: { type: "string", description: "A plugin file to load as well as the CI checkout's .reactorcide/plugins" },
  },
  async run({ args }) {
    const output = new Output();
    const r = resolveFromCli(args, args.file);
    if (!applySecretSources(r, output, secretSettingsFrom(args, process.env))) {
      process.exitCode = EXIT_CONFIG;
      return;
    }
    // Plugins run around a real run only; --dry-run runs nothing, hooks included.
    process.exitCode = r.config.dry_run
      ? await runResolved(r, output)
      : await runWithPlugins(r, output, args.plugin ? [args.plugin] : [], (hooks) => runResolved(r, output, hooks));
  },
});
