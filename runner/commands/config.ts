import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { configView, formatConfig, formatProblem } from "../config/view.ts";
import { Output } from "../output/output.ts";
import { EXIT_CONFIG } from "../run/pipeline.ts";
import { applySecretSources } from "../run/apply-secrets.ts";
import { secretArgs, secretSettingsFrom } from "../secrets/cli-args.ts";

export default defineCommand({
  meta: { name: "config", description: "Show the resolved configuration and where each value came from" },
  args: {
    file: { type: "positional", required: false, description: "A job file to resolve with" },
    ...configArgs(),
    ...secretArgs(),
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const output = new Output();
    const resolved = await resolveFromCli(args, args.file);
    // The same secrets as `run` would mask are masked here (a job command may hold one).
    if (!applySecretSources(resolved, output, secretSettingsFrom(args, process.env))) {
      process.exitCode = EXIT_CONFIG;
      return;
    }
    if (args.json) output.data(JSON.stringify({ ...configView(resolved), problems: resolved.problems }, null, 2));
    else {
      output.data(formatConfig(configView(resolved), (cell) => output.masker.mask(cell)));
      for (const p of resolved.problems) output.log.warn(formatProblem(p));
    }
  },
});
