import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, isAbsolute, join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { jobEnvStrings, parseJobSpec, type JobSpec } from "../protocol/job-spec.ts";
import { ProtocolError, schemaProblems, type Problem } from "../protocol/problems.ts";
import type { TriggerCondition, TriggerJob } from "../protocol/trigger.ts";
import { TriggerRulesSchema, type TriggerRules } from "../protocol/workflow-spec.ts";
import { parseCondition, shouldRun } from "../steps/condition.ts";
import { loadWorkflow } from "../workflow/load.ts";
import { mismatch, type EventFacts } from "./match.ts";

export const WORKFLOWS_DIR = join(".reactorcide", "workflows");
export const JOBS_DIR = join(".reactorcide", "jobs");

/** A job eval can select: from a workflow file or a standalone job definition. */
export interface Candidate {
  name: string;
  from: string;
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
function loadJobDefinition(path: string, root: string): Candidate {
  const rel = relative(root, path);
  const doc = parseYaml(readFileSync(path, "utf8")) as Record<string, unknown> | null;
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ProtocolError("job definition", [{ field: rel, message: "must be a mapping" }]);
  }
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
    rules: [on as TriggerRules | undefined],
    spec: { ...spec, name },
    dependsOn: (depends_on as string[] | undefined) ?? [],
    condition: (condition as TriggerCondition | undefined) ?? "all_success",
  };
}

/** Every job eval could select, from the trusted CI checkout. Names must be unique across files. */
export function loadCandidates(ciDir: string): Candidate[] {
  const candidates: Candidate[] = [];
  for (const file of yamlFiles(ciDir, WORKFLOWS_DIR)) {
    const workflow = loadWorkflow(file, { root: ciDir });
    for (const job of workflow.jobs) {
      candidates.push({
        name: job.name,
        from: relative(ciDir, file),
        rules: [workflow.on, job.on],
        spec: job.spec,
        dependsOn: job.dependsOn,
        condition: job.condition,
        ...(job.if ? { if: job.if } : {}),
      });
    }
  }
  for (const file of yamlFiles(ciDir, JOBS_DIR)) candidates.push(loadJobDefinition(file, ciDir));
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  for (const c of candidates) {
    if (seen.has(c.name)) problems.push({ field: c.from, message: `job "${c.name}" is also defined in ${seen.get(c.name)}` });
    else seen.set(c.name, c.from);
  }
  if (problems.length) throw new ProtocolError("CI definitions", problems);
  return candidates;
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
  if (spec.command) trigger.job_command = spec.command;
  if (spec.steps) trigger.steps = spec.steps as TriggerJob["steps"];
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
