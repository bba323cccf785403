import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, isAbsolute, join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { jobEnvStrings, parseJobSpec, type JobSpec } from "../protocol/job-spec.ts";
import { ProtocolError, schemaProblems, type Problem } from "../protocol/problems.ts";
import type { TriggerCondition, TriggerJob } from "../protocol/trigger.ts";
import { TriggerRulesSchema, type TriggerRules } from "../protocol/workflow-spec.ts";
import { parseCondition, shouldRun } from "../steps/condition.ts";
import { workflowFromDocument } from "../workflow/load.ts";
import { capabilityFailure, normalizeJobFile, normalizeWorkflowFile, type JobExtras } from "./upstream.ts";
import { mismatch, type EventFacts } from "./match.ts";

export const WORKFLOWS_DIR = join(".reactorcide", "workflows");
export const JOBS_DIR = join(".reactorcide", "jobs");

/** A job eval can select: from a workflow file or a standalone job definition. */
export interface Candidate {
  name: string;
  from: string;
  /** The workflow run it joins: its workflow file's name (or file name); standalone job files form the workflow "jobs". */
  workflow: string;
  /** Project secrets it needs (`secrets: [NAMES]`), its priority, capabilities it asks for. */
  extras: JobExtras;
  rules: (TriggerRules | undefined)[];
  spec: JobSpec;
  dependsOn: string[];
  condition: TriggerCondition;
  if?: string;
}

export interface Decision {
  name: string;
  from: string;
  selected: boolean;
  reason?: string;
}

export interface EvalResult {
  decisions: Decision[];
  triggers: TriggerJob[];
}

function yamlFiles(root: string, dir: string): string[] {
  const full = join(root, dir);
  if (!existsSync(full)) return [];
  const realRoot = realpathSync(root);
  return readdirSync(full)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const path = join(full, f);
      // A definitions file linked in from outside the trusted checkout is not trusted.
      const rel = relative(realRoot, realpathSync(path));
      if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`${join(dir, f)}: leads outside the CI checkout through a link; refused`);
      return path;
    });
}

/** `.reactorcide/jobs/NAME.yaml`: a job file plus `on:` rules (and optionally depends_on, condition). */
function loadJobDefinition(path: string, root: string, notes: string[]): Candidate {
  const rel = relative(root, path);
  const raw = parseYamlFile(path, rel);
  const normalized = normalizeJobFile(raw, rel);
  notes.push(...normalized.notes);
  if (normalized.problems.length) throw new ProtocolError("job definition", normalized.problems);
  const doc = normalized.doc;
  const { on, depends_on, condition, ...jobFields } = doc;
  const problems: Problem[] = on === undefined ? [] : schemaProblems(TriggerRulesSchema, on, `${rel}: on`);
  if (depends_on !== undefined && !(Array.isArray(depends_on) && depends_on.every((d) => typeof d === "string"))) {
    problems.push({ field: `${rel}: depends_on`, message: "must be a list of job names" });
  }
  if (condition !== undefined && !["all_success", "any_failed", "always"].includes(condition as string)) {
    problems.push({ field: `${rel}: condition`, message: 'must be one of "all_success", "any_failed", "always"' });
  }
  let spec: JobSpec = {};
  try {
    spec = parseJobSpec(jobFields);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    problems.push(...error.problems.map((p) => ({ ...p, field: `${rel}: ${p.field}` })));
  }
  if (problems.length) throw new ProtocolError("job definition", problems);
  const name = spec.name ?? basename(path).replace(/\.ya?ml$/, "");
  return {
    name,
    from: rel,
    workflow: STANDALONE_WORKFLOW,
    extras: normalized.extras,
    rules: [on as TriggerRules | undefined],
    spec: { ...spec, name },
    dependsOn: (depends_on as string[] | undefined) ?? [],
    condition: (condition as TriggerCondition | undefined) ?? "all_success",
  };
}

function parseYamlFile(path: string, rel: string): unknown {
  try {
    return parseYaml(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ProtocolError("CI definitions", [{ field: rel, message: `not valid YAML: ${(error as Error).message.split("\n")[0]}` }]);
  }
}

/** The workflow the job files of .reactorcide/jobs/ form when no workflow file uses them. */
export const STANDALONE_WORKFLOW = "jobs";

export interface LoadedCandidates {
  candidates: Candidate[];
  /** Problems of files that were left out; the others still run. */
  problems: Problem[];
  /** Fields accepted and ignored (Reactorcide's own deployment's), for the eval log. */
  notes: string[];
}

/**
 * Every job eval could select, from the trusted CI checkout: each workflow file of
 * .reactorcide/workflows (its job_files looked up in .reactorcide/jobs first, then from the
 * root), then the job files of .reactorcide/jobs no workflow uses, as the workflow "jobs". A file
 * with problems is left out, its problems returned; the valid files still run.
 */
export function loadCandidates(ciDir: string): LoadedCandidates {
  const candidates: Candidate[] = [];
  const problems: Problem[] = [];
  const notes: string[] = [];
  const used = new Set<string>();
  const workflowNames = new Map<string, string>();
  for (const file of yamlFiles(ciDir, WORKFLOWS_DIR)) {
    const rel = relative(ciDir, file);
    try {
      const normalized = normalizeWorkflowFile(parseYamlFile(file, rel), rel);
      notes.push(...normalized.notes);
      if (normalized.problems.length) throw new ProtocolError("workflow", normalized.problems);
      const fileExtras = new Map<string, JobExtras>();
      const fileRules = new Map<string, TriggerRules | undefined>();
      const fileProblems: Problem[] = [];
      const workflow = workflowFromDocument(normalized.doc, rel, {
        root: ciDir,
        jobFileDirs: [JOBS_DIR],
        readJobFile: (path) => {
          used.add(realpathSync(path));
          const jobRel = relative(ciDir, path);
          const n = normalizeJobFile(parseYamlFile(path, jobRel), jobRel);
          notes.push(...n.notes);
          if (n.problems.length) throw new ProtocolError("job file", n.problems.map((p) => ({ ...p, field: p.field.replace(`${jobRel}: `, "") })));
          const { on, ...jobFields } = n.doc;
          if (on !== undefined) fileProblems.push(...schemaProblems(TriggerRulesSchema, on, `${jobRel}: triggers`));
          const spec = parseJobSpec(jobFields);
          fileExtras.set(path, n.extras);
          fileRules.set(path, on as TriggerRules | undefined);
          return spec;
        },
      });
      if (fileProblems.length) throw new ProtocolError("workflow", fileProblems);
      const doc = normalized.doc as { name?: string; jobs?: unknown };
      const name = typeof doc.name === "string" ? doc.name : basename(file).replace(/\.ya?ml$/, "");
      if (workflowNames.has(name)) throw new ProtocolError("workflow", [{ field: `${rel}: name`, message: `workflow "${name}" is also defined in ${workflowNames.get(name)}` }]);
      workflowNames.set(name, rel);
      // Which job file each entry read, in entry order (workflowFromDocument reads them in that order).
      const jobFileOf = jobFilesInOrder(normalized.doc, ciDir);
      for (const job of workflow.jobs) {
        const path = jobFileOf.get(job.group);
        const extras = { ...(path ? fileExtras.get(path) : {}), ...normalized.extras.get(job.group) };
        candidates.push({
          name: job.name,
          from: rel,
          workflow: name,
          extras,
          rules: [workflow.on, path ? fileRules.get(path) : undefined, job.on],
          spec: job.spec,
          dependsOn: job.dependsOn,
          condition: job.condition,
          ...(job.if ? { if: job.if } : {}),
        });
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) problems.push({ field: rel, message: (error as Error).message });
      else problems.push(...error.problems.map((p) => (p.field.startsWith(rel) ? p : { ...p, field: `${rel}: ${p.field}` })));
    }
  }
  const standalone = new Set<string>();
  for (const file of yamlFiles(ciDir, JOBS_DIR)) {
    if (used.has(realpathSync(file))) continue;
    try {
      const c = loadJobDefinition(file, ciDir, notes);
      if (standalone.has(c.name)) throw new ProtocolError("job definition", [{ field: c.from, message: `job "${c.name}" is defined twice in ${JOBS_DIR}` }]);
      standalone.add(c.name);
      candidates.push(c);
    } catch (error) {
      if (!(error instanceof ProtocolError)) problems.push({ field: relative(ciDir, file), message: (error as Error).message });
      else problems.push(...error.problems);
    }
  }
  return { candidates, problems, notes };
}

/** Entry name → the job file path its job_file resolves to (as workflowFromDocument looks it up). */
function jobFilesInOrder(doc: unknown, root: string): Map<string, string> {
  const out = new Map<string, string>();
  const jobs = (doc as { jobs?: unknown }).jobs;
  const entries: [string, unknown][] = Array.isArray(jobs)
    ? jobs.map((j) => [String((j as { name?: unknown })?.name ?? ""), j])
    : jobs && typeof jobs === "object"
      ? Object.entries(jobs)
      : [];
  for (const [name, job] of entries) {
    const ref = (job as { job_file?: unknown })?.job_file;
    if (typeof ref !== "string") continue;
    const inJobs = join(root, JOBS_DIR, ref);
    out.set(name, existsSync(inJobs) ? inJobs : join(root, ref));
  }
  return out;
}

/** The trigger for a selected job: its definition, the event's env, and the source it runs on. */
function toTrigger(c: Candidate, selected: Set<string>, eventEnv: Record<string, string>, sourceEnv: Record<string, string | undefined>): TriggerJob {
  const { spec } = c;
  const trigger: TriggerJob = {
    job_name: c.name,
    // A dependency that this event does not run (say, filtered by paths) is not waited for.
    depends_on: c.dependsOn.filter((d) => selected.has(d)),
    condition: c.condition,
    env: { ...jobEnvStrings(spec.env), ...eventEnv },
  };
  trigger.workflow = c.workflow;
  if (c.extras.secrets) trigger.secrets = c.extras.secrets;
  if (c.extras.priority !== undefined) trigger.priority = c.extras.priority;
  if (c.extras.capabilities?.length) trigger.job_command = capabilityFailure(c.extras.capabilities);
  else if (spec.command) trigger.job_command = spec.command;
  else if (spec.steps) trigger.steps = spec.steps as TriggerJob["steps"];
  if (spec.image) trigger.container_image = spec.image;
  if (spec.timeout) trigger.timeout = spec.timeout;
  const source = spec.source ?? (sourceEnv.REACTORCIDE_SOURCE_TYPE ? { type: sourceEnv.REACTORCIDE_SOURCE_TYPE, url: sourceEnv.REACTORCIDE_SOURCE_URL, ref: sourceEnv.REACTORCIDE_SOURCE_REF } : undefined);
  if (source?.type) trigger.source_type = source.type;
  if (source?.url) trigger.source_url = source.url;
  if (source?.ref) trigger.source_ref = source.ref;
  const ci = spec.ci_source ?? (sourceEnv.REACTORCIDE_CI_SOURCE_TYPE ? { type: sourceEnv.REACTORCIDE_CI_SOURCE_TYPE, url: sourceEnv.REACTORCIDE_CI_SOURCE_URL, ref: sourceEnv.REACTORCIDE_CI_SOURCE_REF } : undefined);
  if (ci?.type) trigger.ci_source_type = ci.type;
  if (ci?.url) trigger.ci_source_url = ci.url;
  if (ci?.ref) trigger.ci_source_ref = ci.ref;
  return trigger;
}

/**
 * Decides which jobs an event runs: every rule set on the way (workflow `on`, job `on`) must
 * match, then the job's `if:` against the event's env. Returns a decision per job (with the
 * reason for each skip) and the triggers for the selected ones, in definition order.
 */
export function evaluate(
  candidates: Candidate[],
  facts: EventFacts,
  eventEnv: Record<string, string>,
  sourceEnv: Record<string, string | undefined> = {},
): EvalResult {
  const decisions: Decision[] = candidates.map((c) => {
    for (const rules of c.rules) {
      const why = mismatch(rules, facts);
      if (why) return { name: c.name, from: c.from, selected: false, reason: why };
    }
    if (c.if && !shouldRun(parseCondition(c.if), { env: { ...jobEnvStrings(c.spec.env), ...eventEnv }, steps: {}, failed: false })) {
      return { name: c.name, from: c.from, selected: false, reason: `if: ${c.if}` };
    }
    return { name: c.name, from: c.from, selected: true };
  });
  const selected = new Set(decisions.filter((d) => d.selected).map((d) => d.name));
  const triggers = candidates.filter((c) => selected.has(c.name)).map((c) => toTrigger(c, selected, eventEnv, sourceEnv));
  return { decisions, triggers };
}
