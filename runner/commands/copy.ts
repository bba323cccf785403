import { defineCommand } from "citty";
import { checkTargetAwayFromCwd, log, runCommand } from "../source/cli.ts";
import { prepareSource } from "../source/prepare.ts";

export default defineCommand({
  meta: {
    name: "copy",
    description: "Copy a local directory's exact tree into a directory, replacing what it held (symbolic links are copied as links, never followed)",
  },
  args: {
    source: { type: "positional", description: "Directory to copy (path or file:// URL)", required: true },
    dir: { type: "string", description: "Target directory, emptied first", default: "./src" },
    json: { type: "boolean", description: "Print the result as JSON on stdout", default: false },
  },
  async run({ args }) {
    await runCommand(async () => {
      checkTargetAwayFromCwd(args.dir);
      const prepared = await prepareSource({ type: "copy", url: args.source }, args.dir, { log: (message) => log.info(message) });
      if (args.json) console.log(JSON.stringify(prepared));
      log.success(`copied ${args.source} into ${prepared.dir}`);
    });
  },
});
