import { defineCommand } from "citty";
import { runArgs, runFromCli } from "../run/from-cli.ts";

export default defineCommand({
  meta: {
    name: "run-job",
    description: "Run a job from a YAML or JSON file (defaults < REACTORCIDE_* environment < job file < flags)",
  },
  args: {
    file: { type: "positional", required: true, description: "The job file (.yaml, .yml or .json)" },
    ...runArgs(),
  },
  async run({ args }) {
    process.exitCode = await runFromCli(args, args.file);
  },
});
