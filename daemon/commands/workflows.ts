import { defineCommand } from "citty";
import { consola } from "consola";
import { printJson, withClient } from "../client/run.ts";
import type { RunView } from "../client/workflow-follow.ts";
import { describeRun } from "./workflow.ts";

export default defineCommand({
  meta: { name: "workflows", description: "List workflow runs, newest first" },
  args: {
    project: { type: "string", description: "only this project (id or name)" },
    status: { type: "string", description: "running, awaiting_approval, success, failure or cancelled" },
    limit: { type: "string", description: "how many (1-200)", default: "50" },
    json: { type: "boolean", description: "print JSON" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      const page = await client.listWorkflows({ limit: Number(args.limit), project: args.project, status: args.status });
      if (args.json) return printJson(page);
      if (page.workflows.length === 0) consola.info("no workflow runs");
      for (const run of page.workflows) console.log(describeRun(run));
    });
  },
});
