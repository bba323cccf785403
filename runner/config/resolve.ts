/**
 * Resolves the run configuration from its layers, remembering where each value came from:
 * defaults < REACTORCIDE_* environment < job file (run-job) < flags. The job environment is merged
 * per variable in the same order: REACTORCIDE_JOB_ENV < the job file's `env` < --job-env.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { JobSpec } from "../protocol/job-spec.ts";
import { jobEnvStrings } from "../protocol/job-values.ts";
import { loadJobEnv } from "../workspace/env-file.ts";
import { FIELDS, type FieldDef, type FieldName, type Origin, type RunConfig } from "./fields.ts";
import { FieldError, type ConfigProblem } from "../errors/problem.ts";

/** Parsed command-line flags by long name; only string and boolean values are read. */
export type Flags = Readonly<Record<string, unknown>>;

export interface ResolveInput {
  env: Record<string, string | undefined>;
  flags?: Flags;
  job?: { spec: JobSpec; file: string };
  cwd?: string;
  /** Whether the runner is inside a container (decides the default workspace). */
  inContainer?: boolean;
}

export interface ResolvedConfig {
  config: RunConfig;
  origins: Record<FieldName, Origin>;
  /** The label of each field as the user gave it (`--timeout`, `REACTORCIDE_TIMEOUT`, `timeout`). */
  labels: Record<FieldName, string>;
  jobEnv: Record<string, string>;
  jobEnvOrigins: Record<string, Origin>;
  jobFile?: string;
  steps?: unknown[];
  /** The directory relative paths were resolved against. */
  cwd: string;
  /** Values that could not be read (bad numbers, env files outside the workspace...). */
  problems: ConfigProblem[];
}

/**
 * Inside a job container: a container marker and a /job directory (the runner image has one and
 * the worker mounts the workspace there). A developer's machine that is itself a container, but
 * has no /job, keeps ./job.
 */
export function detectContainer(): boolean {
  const marked = existsSync("/.dockerenv") || existsSync("/run/.containerenv") || Boolean(process.env.KUBERNETES_SERVICE_HOST);
  return marked && existsSync("/job") && statSync("/job").isDirectory();
}

function label(def: FieldDef, origin: Origin): string {
  if (origin === "flag") return `--${def.flag}`;
  if (origin === "environment") return def.env;
  if (origin === "job file") return def.jobKey ?? def.name;
  return def.name;
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, "1": true, yes: true, false: false, "0": false, no: false };

function parseValue(def: FieldDef, raw: string, field: string, problems: ConfigProblem[]): unknown {
  const bad = (allowed: string) => {
    problems.push({ severity: "error", field, message: `"${raw}" is not valid`, allowed });
    return undefined;
  };
  switch (def.kind) {
    case "string":
      return raw;
    case "integer":
      return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : bad("a whole number (0 or more)");
    case "number":
      return /^\d+(\.\d+)?$/.test(raw.trim()) && Number(raw) > 0 ? Number(raw.trim()) : bad("a positive number, e.g. 1.5");
    case "boolean": {
      const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
      return value === undefined ? bad("true or false") : value;
    }
  }
}

export function resolveConfig(input: ResolveInput): ResolvedConfig {
  const flags = input.flags ?? {};
  const cwd = input.cwd ?? process.cwd();
  const raws: Partial<Record<FieldName, string>> = {};
  const origins = {} as Record<FieldName, Origin>;
  const labels = {} as Record<FieldName, string>;
  const problems: ConfigProblem[] = [];
  const config = {} as Record<FieldName, unknown>;

  for (const def of FIELDS) {
    let raw: string | undefined;
    let origin: Origin = "default";
    const fromEnv = input.env[def.env];
    if (fromEnv !== undefined && fromEnv !== "") [raw, origin] = [fromEnv, "environment"];
    const fromJob = input.job && def.fromJob?.(input.job.spec);
    if (fromJob !== undefined) [raw, origin] = [String(fromJob), "job file"];
    const fromFlag = flags[def.flag];
    if (typeof fromFlag === "string" || typeof fromFlag === "boolean") [raw, origin] = [String(fromFlag), "flag"];
    if (raw === undefined) raw = typeof def.default === "function" ? def.default(raws) : def.default;
    raws[def.name] = raw;
    origins[def.name] = origin;
    labels[def.name] = label(def, origin);
    const parsed = parseValue(def, raw, labels[def.name], problems);
    const fallback = typeof def.default === "function" ? def.default(raws) : def.default;
    config[def.name] = parsed ?? parseValue(def, fallback, def.name, []);
  }

  const inContainer = input.inContainer ?? detectContainer();
  const workspace = String(config.workspace);
  config.workspace = workspace ? resolve(cwd, workspace) : inContainer ? "/job" : resolve(cwd, "job");

  const resolved = config as unknown as RunConfig;
  const { jobEnv, jobEnvOrigins } = resolveJobEnv(input, resolved.workspace, problems);
  const steps = input.job?.spec.steps ?? stepsFromEnv(input.env.REACTORCIDE_JOB_STEPS, problems);
  return { config: resolved, origins, labels, jobEnv, jobEnvOrigins, jobFile: input.job?.file, steps, cwd, problems };
}

/**
 * REACTORCIDE_JOB_STEPS: a job's steps as one line of JSON (a job file's `steps:`). The daemon's
 * worker passes a workflow job of steps this way, on every runtime; a job file's steps win.
 */
function stepsFromEnv(raw: string | undefined, problems: ConfigProblem[]): unknown[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  try {
    const steps: unknown = JSON.parse(raw);
    if (Array.isArray(steps)) return steps;
  } catch {
    // reported below
  }
  problems.push({ severity: "error", field: "REACTORCIDE_JOB_STEPS", message: "is not a JSON list of steps", allowed: 'e.g. [{"name":"test","run":"make test"}]' });
  return undefined;
}

/**
 * The pull/merge request a git source is fetched from, and the name to blame for it: the setting
 * (--pr-number, REACTORCIDE_PR_NUMBER) or else the job env's REACTORCIDE_PR_NUMBER, which is
 * where eval and the coordinator put the event of the job.
 */
export function pullRequestNumber(r: Pick<ResolvedConfig, "config" | "labels" | "jobEnv">): { value: string; field: string } | undefined {
  if (r.config.pr_number) return { value: r.config.pr_number, field: r.labels.pr_number };
  const fromJobEnv = r.jobEnv.REACTORCIDE_PR_NUMBER;
  return fromJobEnv ? { value: fromJobEnv, field: "job env REACTORCIDE_PR_NUMBER" } : undefined;
}

function resolveJobEnv(input: ResolveInput, workspace: string, problems: ConfigProblem[]) {
  const jobEnv: Record<string, string> = {};
  const jobEnvOrigins: Record<string, Origin> = {};
  const layers: [Origin, string, () => Record<string, string>][] = [];
  const fromEnv = input.env.REACTORCIDE_JOB_ENV;
  if (fromEnv) layers.push(["environment", "REACTORCIDE_JOB_ENV", () => loadJobEnv(workspace, fromEnv, "REACTORCIDE_JOB_ENV")]);
  if (input.job?.spec.env) layers.push(["job file", "env", () => jobEnvStrings(input.job?.spec.env)]);
  const fromFlag = input.flags?.["job-env"];
  if (typeof fromFlag === "string" && fromFlag) layers.push(["flag", "--job-env", () => loadJobEnv(workspace, fromFlag, "--job-env")]);
  for (const [origin, , load] of layers) {
    try {
      for (const [key, value] of Object.entries(load())) {
        jobEnv[key] = value;
        jobEnvOrigins[key] = origin;
      }
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      problems.push(error.toProblem());
    }
  }
  return { jobEnv, jobEnvOrigins };
}
