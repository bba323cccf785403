import { defineCommand } from "citty";
import { consola } from "consola";
import { describeJob, printJson, withClient } from "../client/run.ts";

export default defineCommand({
  meta: { name: "jobs", description: "List jobs, newest first" },
  args: {
    project: { type: "string", description: "only this project (id or name)" },
    status: { type: "string", description: "queued, running, success, failure, error, cancelled or timed_out" },
    limit: { type: "string", description: "how many (1-200)", default: "50" },
    json: { type: "boolean", description: "print JSON" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      const page = await client.listJobs({ project: args.project || undefined, status: args.status || undefined, limit: Number(args.limit) });
      if (args.json) return printJson(page);
      if (page.jobs.length === 0) consola.info("no jobs");
      for (const job of page.jobs) console.log(describeJob(job));
    });
  },
});
