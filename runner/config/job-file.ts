import { existsSync, readFileSync, statSync } from "node:fs";
import { schemaProblems } from "../protocol/problems.ts";
import { JobSpecSchema, type JobSpec } from "../protocol/job-spec.ts";
import type { ConfigProblem } from "../errors/problem.ts";

const MAX_JOB_FILE_BYTES = 1 << 20;

export interface LoadedJobFile {
  spec?: JobSpec;
  file: string;
  problems: ConfigProblem[];
}

/** Reads a YAML or JSON job file; every schema problem is returned, each naming its field. */
export function loadJobFile(file: string): LoadedJobFile {
  const fail = (message: string, suggestion?: string): LoadedJobFile => ({
    file,
    problems: [{ severity: "error", field: "job file", message, ...(suggestion ? { suggestion } : {}) }],
  });
  if (!existsSync(file) || !statSync(file).isFile()) return fail(`${file} does not exist or is not a file`, "give the path of a .yaml or .json job file");
  if (statSync(file).size > MAX_JOB_FILE_BYTES) return fail(`${file} is larger than 1 MiB`);
  let document: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both; duplicate keys are errors. Loaded
    // here, not at start-up: most runs (every job a worker starts) read no job file.
    const { parse } = require("yaml") as typeof import("yaml");
    document = parse(readFileSync(file, "utf8"));
  } catch (error) {
    return fail(`${file} is not valid YAML or JSON: ${(error as Error).message.split("\n")[0]}`);
  }
  const problems: ConfigProblem[] = schemaProblems(JobSpecSchema, document).map((p) => ({
    severity: "error",
    field: p.field,
    message: p.message,
  }));
  return problems.length ? { file, problems } : { file, spec: document as JobSpec, problems };
}
