import { defineCommand } from "citty";
import { changedFiles, gitInfo } from "../git/info.ts";
import { runCommand } from "../source/cli.ts";

const filesChanged = defineCommand({
  meta: {
    name: "files-changed",
    description: "List files changed between REF and HEAD (from their merge base), one per line on stdout",
  },
  args: {
    ref: { type: "positional", description: "Branch, tag or commit to compare with, e.g. origin/main", required: true },
    dir: { type: "string", description: "Repository directory", default: "." },
  },
  async run({ args }) {
    await runCommand(async () => {
      const files = await changedFiles(args.dir, args.ref);
      if (files.length > 0) process.stdout.write(`${files.join("\n")}\n`);
    });
  },
});

const info = defineCommand({
  meta: { name: "info", description: "Show branch, commit, short commit, tag and whether the work tree is clean or dirty" },
  args: {
    dir: { type: "string", description: "Repository directory", default: "." },
    json: { type: "boolean", description: "Print JSON: {branch, commit, shortCommit, tag, dirty}", default: false },
  },
  async run({ args }) {
    await runCommand(async () => {
      const result = await gitInfo(args.dir);
      if (args.json) {
        console.log(JSON.stringify(result));
        return;
      }
      console.log(
        [
          `branch: ${result.branch ?? "(detached)"}`,
          `commit: ${result.commit}`,
          `short commit: ${result.shortCommit}`,
          `tag: ${result.tag ?? "(none)"}`,
          `state: ${result.dirty ? "dirty" : "clean"}`,
        ].join("\n"),
      );
    });
  },
});

export default defineCommand({
  meta: { name: "git", description: "Git facts for job scripts: files changed since a ref, and where HEAD is" },
  subCommands: { "files-changed": filesChanged, info },
});
