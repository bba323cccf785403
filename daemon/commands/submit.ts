import { defineCommand } from "citty";
import { consola } from "consola";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { ApiClient } from "../client/api-client.ts";
import { isTerminalStatus, type Job, type JobSubmit } from "../../runner/protocol/index.ts";
import { describeJob, printJson, withClient } from "../client/run.ts";
import { terminalLine } from "../client/terminal.ts";

/** Reads a YAML or JSON job file; env numbers and booleans become strings, as a shell sees them. */
async function readJobFile(path: string): Promise<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = parse(await readFile(path, "utf8"));
  } catch (error) {
    consola.error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    consola.error(`${path}: a job file is a mapping (name, command, project, image, env, ...)`);
    process.exit(2);
  }
  const job = { ...(doc as Record<string, unknown>) };
  if (job.env && typeof job.env === "object") {
    job.env = Object.fromEntries(
      Object.entries(job.env as Record<string, unknown>).map(([k, v]) => [k, typeof v === "number" || typeof v === "boolean" ? String(v) : v]),
    );
  }
  return job;
}

async function waitFor(client: ApiClient, id: string): Promise<Job> {
  for (;;) {
    const job = await client.getJob(id);
    if (isTerminalStatus(job.status)) return job;
    await Bun.sleep(1000);
  }
}

export default defineCommand({
  meta: { name: "submit", description: "Submit a job file (YAML or JSON) to the coordinator" },
  args: {
    file: { type: "positional", description: "job file", required: true },
    project: { type: "string", description: "project id or name (overrides the file's)" },
    wait: { type: "boolean", description: "wait for the job to end; exit 0 only on success" },
    follow: { type: "boolean", alias: "f", description: "stream the log until the job ends; exit 0 only on success" },
    json: { type: "boolean", description: "print the job as JSON" },
  },
  async run({ args }) {
    const body = await readJobFile(args.file);
    if (args.project) body.project = args.project;
    await withClient(async (client) => {
      // Checked by the coordinator against JobSubmitSchema; its 400 names the field.
      const job = await client.submitJob(body as JobSubmit);
      if (args.json && !args.wait && !args.follow) return printJson(job);
      if (!args.json) consola.success(`submitted ${describeJob(job)}`);
      let final = job;
      if (args.follow) {
        await client.follow(job.id, (line, stream) => console.log(terminalLine(line, stream)));
        final = await client.getJob(job.id);
      } else if (args.wait) {
        final = await waitFor(client, job.id);
      }
      if (args.json) printJson(final);
      else if (final !== job) consola.info(describeJob(final));
      if ((args.wait || args.follow) && final.status !== "success") process.exit(1);
    });
  },
});
