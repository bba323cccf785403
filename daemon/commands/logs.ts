import { defineCommand } from "citty";
import { consola } from "consola";
import { withClient } from "../client/run.ts";
import { terminalLine, terminalTextLine } from "../client/terminal.ts";

export default defineCommand({
  meta: { name: "logs", description: "Print a job's log; -f follows it until the job ends" },
  args: {
    id: { type: "positional", description: "job id", required: true },
    follow: { type: "boolean", alias: "f", description: "follow until the job ends" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      if (args.follow) {
        const end = await client.follow(args.id, (line, stream) => console.log(terminalLine(line, stream)));
        if ("reason" in end) consola.error(end.reason);
        if (end.status !== "success") process.exitCode = 1;
        return;
      }
      // Streamed line by line: a long log is never held whole, and no line reaches the terminal raw.
      for await (const line of client.lines(`/api/v1/jobs/${encodeURIComponent(args.id)}/logs`)) process.stdout.write(terminalTextLine(line) + "\n");
    });
  },
});
