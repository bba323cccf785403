import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { FieldError } from "../errors/problem.ts";
import { Output } from "../output/output.ts";
import { emptyWorkspace } from "../workspace/cleanup.ts";

export default defineCommand({
  meta: { name: "cleanup", description: "Empty the workspace (refuses /, system and home directories, and parents of the current directory)" },
  args: {
    workspace: configArgs().workspace!,
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const output = new Output();
    const { config } = await resolveFromCli({ workspace: args.workspace });
    try {
      const removed = emptyWorkspace(config.workspace);
      if (args.json) output.data(JSON.stringify({ workspace: config.workspace, removed }));
      else output.log.success(`emptied ${config.workspace} (${removed.length} entr${removed.length === 1 ? "y" : "ies"} removed)`);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      output.log.error(error.message + (error.suggestion ? `; try: ${error.suggestion}` : ""));
      process.exitCode = 2;
    }
  },
});
