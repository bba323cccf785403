import { defineCommand } from "citty";
import { withClient } from "../client/run.ts";

export default defineCommand({
  meta: { name: "logs", description: "Print a job's log; -f follows it until the job ends" },
  args: {
    id: { type: "positional", description: "job id", required: true },
    follow: { type: "boolean", alias: "f", description: "follow until the job ends" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      if (args.follow) {
        const end = await client.follow(args.id, (line) => console.log(line));
        if (end.status !== "success") process.exitCode = 1;
        return;
      }
      process.stdout.write(await client.text(`/api/v1/jobs/${encodeURIComponent(args.id)}/logs`));
    });
  },
});
