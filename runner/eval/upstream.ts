/**
 * The Reactorcide spelling of `.reactorcide/` files, read as ours: `triggers:` for `on:`,
 * `paths: {include, exclude}` (workflow and job level), `environment` for `env`, job files with
 * a `job:` block, `description`, and the fields only Reactorcide's own deployment uses (accepted,
 * noted, ignored; `job.capabilities` fails the job when it runs). What is left is checked by the
 * usual schemas, so every other unknown field is still an error naming field and file.
 */
import type { Problem } from "../protocol/problems.ts";

type Doc = Record<string, unknown>;

/** Accepted and ignored: they only steer Reactorcide's own deployment. */
const DEPLOYMENT_ONLY = ["run_local", "worker_class"];
const JOB_BLOCK_IGNORED = ["disable_run_local", "image_pull_secrets", "run_as"];
const JOB_BLOCK_FIELDS = ["image", "command", "timeout", "priority", "working_dir", "code_dir", "job_dir", "capabilities", ...JOB_BLOCK_IGNORED];

/** What a job says beyond the job spec: which project secrets it needs, its priority, what it needs that we may not have. */
export interface JobExtras {
  secrets?: string[];
  priority?: number;
  capabilities?: string[];
  description?: string;
}

export interface Normalized {
  doc: Doc;
  extras: JobExtras;
  notes: string[];
  problems: Problem[];
}

const isMap = (v: unknown): v is Doc => !!v && typeof v === "object" && !Array.isArray(v);
const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");

/** `paths: {include, exclude}` merged into trigger rules (`paths`, `paths_ignore`). */
function mergePaths(rules: unknown, paths: unknown, field: string, problems: Problem[]): unknown {
  if (paths === undefined) return rules;
  if (strings(paths)) return { ...(isMap(rules) ? rules : {}), paths };
  if (!isMap(paths)) {
    problems.push({ field, message: "must be a list of globs or {include: [...], exclude: [...]}" });
    return rules;
  }
  for (const key of Object.keys(paths)) if (key !== "include" && key !== "exclude") problems.push({ field: `${field}.${key}`, message: "unknown field; allowed: include, exclude" });
  const out: Doc = { ...(isMap(rules) ? rules : {}) };
  if (paths.include !== undefined) out.paths = paths.include;
  if (paths.exclude !== undefined) out.paths_ignore = paths.exclude;
  return out;
}

/** `triggers:` is `on:`; for tag events, a rules set written this way matches tags against `branches` (release workflows say branches: ["v*"]). */
function rulesOf(doc: Doc, field: string, problems: Problem[]): unknown {
  if (doc.triggers !== undefined && doc.on !== undefined) problems.push({ field: `${field}triggers`, message: "use on or triggers, not both" });
  let rules = doc.on ?? doc.triggers;
  if (doc.triggers !== undefined && isMap(rules) && rules.branches !== undefined && rules.tags === undefined) rules = { ...rules, tags: rules.branches };
  return mergePaths(rules, doc.paths, `${field}paths`, problems);
}

function takeExtras(doc: Doc, field: string, extras: JobExtras, notes: string[], problems: Problem[]): void {
  if (doc.secrets !== undefined) {
    if (strings(doc.secrets) && (doc.secrets as string[]).every((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s))) extras.secrets = doc.secrets as string[];
    else problems.push({ field: `${field}secrets`, message: "must be a list of secret names (letters, digits and _)" });
  }
  if (doc.description !== undefined) {
    if (typeof doc.description === "string") extras.description = doc.description;
    else problems.push({ field: `${field}description`, message: "must be a string" });
  }
  for (const key of DEPLOYMENT_ONLY) if (doc[key] !== undefined) notes.push(`${field}${key}: used only by Reactorcide's own deployment; ignored`);
}

/** A job's fields in either spelling → ours, plus its extras. `kind` says which fields stay (a job file's or a workflow entry's). */
function normalizeJob(raw: Doc, field: string, notes: string[], problems: Problem[]): { doc: Doc; extras: JobExtras } {
  const extras: JobExtras = {};
  takeExtras(raw, field, extras, notes, problems);
  const { triggers: _t, paths: _p, environment, description: _d, secrets: _s, run_local: _r, worker_class: _w, job, priority, ...rest } = raw;
  const doc: Doc = { ...rest };
  const rules = rulesOf(raw, field, problems);
  if (rules !== undefined) doc.on = rules;
  if (environment !== undefined) {
    if (raw.env !== undefined) problems.push({ field: `${field}environment`, message: "use env or environment, not both" });
    doc.env = environment;
  }
  if (priority !== undefined) {
    if (Number.isInteger(priority)) extras.priority = priority as number;
    else problems.push({ field: `${field}priority`, message: "must be a whole number" });
  }
  if (job !== undefined) {
    if (!isMap(job)) problems.push({ field: `${field}job`, message: "must be a mapping (image, command, timeout, ...)" });
    else {
      const env: Doc = isMap(doc.env) ? { ...doc.env } : {};
      for (const [key, value] of Object.entries(job)) {
        const f = `${field}job.${key}`;
        if (!JOB_BLOCK_FIELDS.includes(key)) problems.push({ field: f, message: `unknown field; allowed: ${JOB_BLOCK_FIELDS.join(", ")}` });
        else if (key === "image" || key === "command" || key === "timeout") {
          if (doc[key] !== undefined) problems.push({ field: f, message: `${key} is also given outside the job block` });
          doc[key] = value;
        } else if (key === "priority") {
          if (Number.isInteger(value)) extras.priority = value as number;
          else problems.push({ field: f, message: "must be a whole number" });
        } else if (key === "code_dir") env.REACTORCIDE_CODE_DIR = value;
        else if (key === "job_dir" || key === "working_dir") env.REACTORCIDE_JOB_DIR = value;
        else if (key === "capabilities") {
          if (strings(value)) extras.capabilities = value as string[];
          else problems.push({ field: f, message: "must be a list of names" });
        } else notes.push(`${f}: used only by Reactorcide's own deployment; ignored`);
      }
      if (Object.keys(env).length) doc.env = env;
    }
  }
  return { doc, extras };
}

/** A job file (`.reactorcide/jobs/NAME.yaml` or one a workflow's job_file names). */
export function normalizeJobFile(raw: unknown, file: string): Normalized {
  const problems: Problem[] = [];
  const notes: string[] = [];
  if (!isMap(raw)) return { doc: {}, extras: {}, notes, problems: [{ field: file, message: "must be a mapping" }] };
  const { doc, extras } = normalizeJob(raw, "", notes, problems);
  return { doc, extras, notes: notes.map((n) => `${file}: ${n}`), problems: problems.map((p) => ({ ...p, field: `${file}: ${p.field}` })) };
}

/** A workflow file: its own rules and each job entry. Returns the extras per job name. */
export function normalizeWorkflowFile(raw: unknown, file: string): { doc: unknown; extras: Map<string, JobExtras>; notes: string[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const extras = new Map<string, JobExtras>();
  if (!isMap(raw)) return { doc: raw, extras, notes, problems };
  const { triggers: _t, paths: _p, description, ...rest } = raw;
  const doc: Doc = { ...rest };
  if (description !== undefined && typeof description !== "string") problems.push({ field: `${file}: description`, message: "must be a string" });
  const rules = rulesOf(raw, "", problems);
  if (rules !== undefined) doc.on = rules;
  const entry = (job: unknown, field: string, name: string | undefined) => {
    if (!isMap(job)) return job;
    const n = normalizeJob(job, `${field}.`, notes, problems);
    if (name) extras.set(name, n.extras);
    return n.doc;
  };
  if (Array.isArray(raw.jobs)) doc.jobs = raw.jobs.map((j, i) => entry(j, `jobs[${i}]`, isMap(j) && typeof j.name === "string" ? j.name : undefined));
  else if (isMap(raw.jobs)) doc.jobs = Object.fromEntries(Object.entries(raw.jobs).map(([name, j]) => [name, entry(j, `jobs.${name}`, name)]));
  return { doc, extras, notes: notes.map((n) => `${file}: ${n}`), problems: problems.map((p) => ({ ...p, field: `${file}: ${p.field}` })) };
}

/** A capability a job asks for that this system does not provide fails it with that reason when it runs. */
export function capabilityFailure(capabilities: readonly string[]): string {
  const reason = `this system provides no ${capabilities.length > 1 ? "capabilities" : "capability"} ${capabilities.join(", ")} (job.capabilities)`;
  const quoted = `'${`reactorcide: ${reason}`.replace(/'/g, "'\\''")}'`;
  return `echo ${quoted} >&2; exit 1`;
}
