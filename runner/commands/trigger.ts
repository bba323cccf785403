import { defineCommand } from "citty";
import { consola } from "consola";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { TriggerJob } from "../protocol/trigger.ts";
import { triggerJobs } from "../triggers/trigger.ts";

/** A file holds one job, a list of jobs, or `{ jobs: [...] }` (a payload or a fragment of one). */
function jobsFromFile(path: string): TriggerJob[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  if (Array.isArray(doc)) return doc as TriggerJob[];
  if (doc && typeof doc === "object" && Array.isArray((doc as { jobs?: unknown }).jobs)) {
    return (doc as { jobs: TriggerJob[] }).jobs;
  }
  if (doc && typeof doc === "object") return [doc as TriggerJob];
  throw new Error(`${path}: expected a job (mapping with job_name), a list of jobs, or { jobs: [...] }`);
}

export default defineCommand({
  meta: {
    name: "trigger",
    description: "Request follow-up jobs: written to <workspace>/triggers.json, printed as a ::reactorcide::trigger:: line, POSTed to the coordinator when configured",
  },
  args: {
    file: { type: "positional", description: "YAML or JSON files, each a job, a list of jobs or { jobs: [...] }", required: true },
    workspace: { type: "string", description: "The job workspace (default REACTORCIDE_WORKSPACE, else /job)" },
    "allow-insecure-transport": { type: "boolean", description: "Allow an http:// coordinator URL", default: false },
  },
  async run({ args }) {
    try {
      const files = [args.file, ...args._.filter((f) => f !== args.file)];
      const jobs = files.flatMap(jobsFromFile);
      const result = await triggerJobs(jobs, {
        workspace: args.workspace,
        allowInsecureTransport: args["allow-insecure-transport"] || undefined,
      });
      // The ::reactorcide::trigger:: line on stdout is the machine-readable result.
      consola.success(`triggered ${result.jobs.map((j) => j.job_name).join(", ")} (operation ${result.operationId})`);
      if (result.postStatus === 201) consola.info("the coordinator accepted them");
      else if (result.postError) consola.warn(`coordinator POST failed (${result.postError}); left in ${result.file}`);
    } catch (error) {
      consola.error((error as Error).message);
      process.exitCode = 2;
    }
  },
});
