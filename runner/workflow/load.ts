import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseJobSpec, type JobSpec } from "../protocol/job-spec.ts";
import { ProtocolError, schemaProblems, type Problem } from "../protocol/problems.ts";
import type { TriggerCondition } from "../protocol/trigger.ts";
import {
  TriggerRulesSchema,
  WorkflowJobListItemSchema,
  WorkflowJobSchema,
  type TriggerRules,
  type WorkflowJobSpec,
} from "../protocol/workflow-spec.ts";
import { ConditionError, parseCondition } from "../steps/condition.ts";
import { planSteps, StepPlanError } from "../steps/plan.ts";
import { resolveInsideRoot } from "./safe-path.ts";

/** One job of a workflow after loading: for_each expanded, needs merged, job_file read. */
export interface WorkflowJob {
  name: string;
  /** The for_each job it came from (its name when not expanded). */
  group: string;
  spec: JobSpec;
  dependsOn: string[];
  condition: TriggerCondition;
  if?: string;
  on?: TriggerRules;
  /** Env names a run-time trigger supplied: their values may be secrets the parent passed on, so they are masked. */
  secretEnvNames?: string[];
}

export interface Workflow {
  name: string;
  file: string;
  on?: TriggerRules;
  vars: Record<string, string>;
  jobs: WorkflowJob[];
}

export interface LoadOptions {
  /** The repository root job_file paths are resolved in (default: the workflow's directory). */
  root: string;
  /** Directories inside root a job_file is looked up in first, in order (eval: .reactorcide/jobs). */
  jobFileDirs?: string[];
  /** Reads a job file found at this path (default: the job file format of run-job). */
  readJobFile?: (path: string) => JobSpec;
}

/** The job file a workflow's job_file names: in each of jobFileDirs first, then from the root; never outside it. */
function findJobFile(options: LoadOptions, ref: string, field: string): string {
  for (const dir of options.jobFileDirs ?? []) {
    if (!isAbsolute(ref) && existsSync(join(options.root, dir, ref))) return resolveInsideRoot(options.root, join(dir, ref), field);
  }
  return resolveInsideRoot(options.root, ref, field);
}

function parseDocument(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ProtocolError("workflow", [{ field: "(file)", message: `${file}: ${(error as Error).message}` }]);
  }
}

/** `build` for item `linux/amd64` → `build-linux-amd64`: a job name that is safe everywhere. */
export function expandedName(base: string, item: string): string {
  const slug = item.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "item";
  return `${base}-${slug}`;
}

function rawJobs(doc: Record<string, unknown>, problems: Problem[]): [string, unknown, string][] {
  const jobs = doc.jobs;
  if (Array.isArray(jobs)) {
    return jobs.map((job, i) => {
      const name = job && typeof job === "object" ? (job as { name?: unknown }).name : undefined;
      return [typeof name === "string" ? name : `#${i}`, job, `jobs[${i}]`];
    });
  }
  if (jobs && typeof jobs === "object") return Object.entries(jobs).map(([name, job]) => [name, job, `jobs.${name}`]);
  problems.push({ field: "jobs", message: "required: a map of name → job, or a list of jobs with name" });
  return [];
}

/**
 * Loads and checks a workflow file. Every problem in the file is reported at once, each with
 * its field (`jobs.build.needs`, `jobs[2].steps[0].if`), and nothing runs unless all is well.
 */
export function loadWorkflow(file: string, options: LoadOptions): Workflow {
  return workflowFromDocument(parseDocument(file), file, options);
}

/**
 * The same checks on a document already parsed (the daemon takes workflow files as YAML text or
 * JSON in a request). Without `root`, a job_file is refused: there is no repository to read it from.
 */
export function workflowFromDocument(doc: unknown, file: string, options: Partial<LoadOptions> = {}): Workflow {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ProtocolError("workflow", [{ field: "(document)", message: "must be a mapping with jobs" }]);
  }
  const top = doc as Record<string, unknown>;
  const problems: Problem[] = [];
  const allowedTop = ["name", "on", "vars", "image", "jobs"];
  for (const key of Object.keys(top)) {
    if (!allowedTop.includes(key)) problems.push({ field: key, message: `unknown field; allowed: ${allowedTop.join(", ")}` });
  }
  if (top.name !== undefined && typeof top.name !== "string") problems.push({ field: "name", message: "must be a string" });
  if (top.image !== undefined && typeof top.image !== "string") problems.push({ field: "image", message: "must be a string" });
  if (top.on !== undefined) problems.push(...schemaProblems(TriggerRulesSchema, top.on, "on"));
  const vars: Record<string, string> = {};
  if (top.vars !== undefined) {
    if (!top.vars || typeof top.vars !== "object" || Array.isArray(top.vars)) problems.push({ field: "vars", message: "must be a mapping" });
    else {
      for (const [key, value] of Object.entries(top.vars)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) problems.push({ field: `vars.${key}`, message: "names are letters, digits and _" });
        else if (["string", "number", "boolean"].includes(typeof value)) vars[key] = String(value);
        else problems.push({ field: `vars.${key}`, message: "must be a string, number or boolean" });
      }
    }
  }

  const jobs: WorkflowJob[] = [];
  const groups = new Map<string, string[]>(); // group name → expanded job names
  const entries = rawJobs(top, problems);
  for (const [name, raw, field] of entries) {
    const schema = Array.isArray(top.jobs) ? WorkflowJobListItemSchema : WorkflowJobSchema;
    const found = schemaProblems(schema, raw, field);
    if (!Array.isArray(top.jobs) && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
      found.push({ field, message: "job names are letters, digits, _ and -" });
    }
    if (found.length) {
      problems.push(...found);
      continue;
    }
    const job = raw as WorkflowJobSpec;
    if (groups.has(name)) problems.push({ field: `${field}.name`, message: `duplicate job name "${name}"` });
    const sources = [job.command, job.steps, job.job_file].filter((x) => x !== undefined).length;
    if (sources !== 1) problems.push({ field, message: "needs exactly one of command, steps or job_file" });
    if (job.depends_on && job.needs) problems.push({ field: `${field}.needs`, message: "use depends_on or needs, not both" });
    if (job.item_var && !job.for_each) problems.push({ field: `${field}.item_var`, message: "only with for_each" });
    if (job.if) {
      try {
        parseCondition(job.if);
      } catch (error) {
        if (!(error instanceof ConditionError)) throw error;
        problems.push({ field: `${field}.if`, message: error.message });
      }
    }
    if (job.steps) {
      try {
        planSteps(job.steps as never, `${field}.steps`);
      } catch (error) {
        if (!(error instanceof StepPlanError)) throw error;
        problems.push(...error.problems);
      }
    }
    let spec: JobSpec = {};
    if (job.job_file) {
      try {
        if (options.root === undefined) throw new Error("job_file cannot be read here: inline the job (command or steps)");
        const path = findJobFile(options as LoadOptions, job.job_file, `${field}.job_file`);
        spec = options.readJobFile ? options.readJobFile(path) : parseJobSpec(parseYaml(readFileSync(path, "utf8")));
      } catch (error) {
        if (error instanceof ProtocolError) problems.push(...error.problems.map((p) => ({ ...p, field: `${field}.job_file: ${p.field}` })));
        else problems.push({ field: `${field}.job_file`, message: (error as Error).message.replace(`${field}.job_file: `, "") });
        continue;
      }
    }
    const image = job.image ?? spec.image ?? (typeof top.image === "string" ? top.image : undefined);
    const base: JobSpec = {
      ...spec,
      name,
      ...(image ? { image } : {}),
      ...(job.command ? { command: job.command } : {}),
      ...(job.steps ? { steps: job.steps } : {}),
      ...(job.timeout ? { timeout: job.timeout } : {}),
      env: { ...vars, ...spec.env, ...job.env },
    };
    const items = job.for_each ?? [null];
    const names: string[] = [];
    for (const item of items) {
      const jobName = item === null ? name : expandedName(name, item);
      names.push(jobName);
      const env = item === null ? base.env : { ...base.env, [job.item_var ?? "ITEM"]: item };
      jobs.push({
        name: jobName,
        group: name,
        spec: { ...base, name: jobName, env },
        dependsOn: job.depends_on ?? job.needs ?? [],
        condition: job.condition ?? "all_success",
        ...(job.if ? { if: job.if } : {}),
        ...(job.on ? { on: job.on } : {}),
      });
    }
    groups.set(name, names);
  }

  // A dependency on a for_each job waits for every one of its expansions.
  for (const job of jobs) {
    const field = Array.isArray(top.jobs) ? `jobs[${entries.findIndex(([n]) => n === job.group)}]` : `jobs.${job.group}`;
    const expanded: string[] = [];
    for (const dep of job.dependsOn) {
      const targets = groups.get(dep) ?? (jobs.some((j) => j.name === dep) ? [dep] : null);
      if (!targets) problems.push({ field: `${field}.depends_on`, message: `unknown job "${dep}"` });
      else if (dep === job.group) problems.push({ field: `${field}.depends_on`, message: "a job cannot depend on itself" });
      else expanded.push(...targets);
    }
    job.dependsOn = [...new Set(expanded)];
  }
  const cycle = findCycle(jobs);
  if (cycle) problems.push({ field: "jobs", message: `dependency cycle: ${cycle.join(" → ")}` });
  if (problems.length) throw new ProtocolError("workflow", dedupe(problems));
  return { name: typeof top.name === "string" ? top.name : file, file, ...(top.on ? { on: top.on as TriggerRules } : {}), vars, jobs };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}\0${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** A dependency cycle as a path of job names, or null. */
export function findCycle(jobs: WorkflowJob[]): string[] | null {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === "done") return null;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };
  for (const job of jobs) {
    const found = visit(job.name);
    if (found) return found;
  }
  return null;
}
