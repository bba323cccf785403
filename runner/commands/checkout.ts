import { defineCommand } from "citty";
import { checkTargetAwayFromCwd, log, runCommand } from "../source/cli.ts";
import { prepareSource } from "../source/prepare.ts";

export default defineCommand({
  meta: {
    name: "checkout",
    description: "Check out a git repository (branch, tag, SHA or pull/merge request) into a directory, replacing what it held",
  },
  args: {
    url: { type: "positional", description: "Repository: local path, file://, http(s)://, ssh:// or user@host:path", required: true },
    ref: { type: "string", description: "Branch, tag, refs/... name or (short) commit SHA (default: the remote's default branch)" },
    dir: { type: "string", description: "Target directory, emptied first", default: "./src" },
    "pr-number": { type: "string", description: "Pull/merge request number for refs/pull/N/head and refs/merge-requests/N/head (default REACTORCIDE_PR_NUMBER)" },
    json: { type: "boolean", description: "Print the result as JSON on stdout", default: false },
  },
  async run({ args }) {
    await runCommand(async () => {
      checkTargetAwayFromCwd(args.dir);
      const prepared = await prepareSource({ type: "git", url: args.url, ref: args.ref || undefined }, args.dir, {
        prNumber: args["pr-number"] || process.env.REACTORCIDE_PR_NUMBER || undefined,
        log: (message) => log.info(message),
      });
      if (args.json) console.log(JSON.stringify(prepared));
      log.success(`${prepared.commit} (${prepared.ref}) checked out in ${prepared.dir}`);
    });
  },
});
