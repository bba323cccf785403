import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { Output } from "../output/output.ts";
import { runResolved } from "../run/pipeline.ts";

export default defineCommand({
  meta: {
    name: "run-job",
    description: "Run a job from a YAML or JSON file (defaults < REACTORCIDE_* environment < job file < flags)",
  },
  args: {
    file: { type: "positional", required: true, description: "The job file (.yaml, .yml or .json)" },
    ...configArgs(),
  },
  async run({ args }) {
    const output = new Output();
    process.exitCode = await runResolved(resolveFromCli(args, args.file), output);
  },
});
