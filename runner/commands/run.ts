import { defineCommand } from "citty";
import { runArgs, runFromCli } from "../run/from-cli.ts";

export default defineCommand({
  meta: { name: "run", description: "Run a job command in place or, with --image, in a hardened container" },
  args: runArgs(),
  async run({ args }) {
    process.exitCode = await runFromCli(args);
  },
});
