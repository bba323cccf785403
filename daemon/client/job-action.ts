import { defineCommand } from "citty";
import { consola } from "consola";
import { describeJob, printJson, withClient } from "./run.ts";

/** `cancel ID` and `retry ID`: POST /api/v1/jobs/ID/<action> and show the job it answers with. */
export function jobActionCommand(action: "cancel" | "retry", description: string, done: string) {
  return defineCommand({
    meta: { name: action, description },
    args: {
      id: { type: "positional", description: "job id", required: true },
      json: { type: "boolean", description: "print the job as JSON" },
    },
    async run({ args }) {
      await withClient(async (client) => {
        const job = await client.jobAction(args.id, action);
        if (args.json) printJson(job);
        else consola.success(`${done} ${describeJob(job)}`);
      });
    },
  });
}
