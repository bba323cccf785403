import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { Output } from "../output/output.ts";
import { runResolved } from "../run/pipeline.ts";

export default defineCommand({
  meta: { name: "run", description: "Run a job command in place or, with --image, in a hardened container" },
  args: configArgs(),
  async run({ args }) {
    const output = new Output();
    process.exitCode = await runResolved(resolveFromCli(args), output);
  },
});
