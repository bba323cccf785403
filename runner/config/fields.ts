/**
 * Every setting of `run` / `run-job`: its flag, its REACTORCIDE_* variable, its default, and where
 * it sits in a job file. Resolution (resolve.ts) layers them: default < environment < job file < flag.
 */
import type { JobSpec } from "../protocol/job-spec.ts";
import { CONTAINER_RUNTIMES, JOB_SOURCE_TYPES, type ContainerRuntime } from "../protocol/job-values.ts";
import { RUNNER_ENV } from "../protocol/runner-env.ts";

export type Origin = "default" | "environment" | "job file" | "flag";

export interface RunConfig {
  name: string;
  job_command: string;
  code_dir: string;
  job_dir: string;
  /** KEY=VALUE lines inline, or a file inside the workspace. */
  job_env: string;
  /** The host directory that stands for /job. */
  workspace: string;
  source_type: string;
  source_url: string;
  source_ref: string;
  /** Pull/merge request number: git sources then try refs/pull/N/head and refs/merge-requests/N/head. */
  pr_number: string;
  ci_source_type: string;
  ci_source_url: string;
  ci_source_ref: string;
  image: string;
  runtime: ContainerRuntime;
  /** Seconds; 0 means no limit. */
  timeout: number;
  grace_period: number;
  cpu: number;
  memory: string;
  pids: number;
  dry_run: boolean;
}
export type FieldName = keyof RunConfig;

export type FieldKind = "string" | "integer" | "number" | "boolean";

export interface FieldDef {
  name: FieldName;
  /** The long flag, without dashes. */
  flag: string;
  env: string;
  kind: FieldKind;
  /** Raw default; "" means unset. Functions see the values resolved so far (job_dir follows code_dir). */
  default: string | ((resolved: Partial<Record<FieldName, string>>) => string);
  description: string;
  allowed?: readonly string[];
  /** The value a job file gives this field, if any, and that field's name in the file. */
  fromJob?: (spec: JobSpec) => string | number | undefined;
  jobKey?: string;
}

export const RUNNER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const field = (def: FieldDef): FieldDef => def;

export const FIELDS: readonly FieldDef[] = [
  field({ name: "name", flag: "name", env: RUNNER_ENV.jobName, kind: "string", default: "job", description: "Job name (letters, digits, . _ -)", jobKey: "name", fromJob: (s) => s.name }),
  field({ name: "job_command", flag: "job-command", env: RUNNER_ENV.jobCommand, kind: "string", default: "", description: "Shell command to run", jobKey: "command", fromJob: (s) => s.command }),
  field({ name: "code_dir", flag: "code-dir", env: "REACTORCIDE_CODE_DIR", kind: "string", default: "/job/src", description: "Where the source goes (inside /job)" }),
  field({ name: "job_dir", flag: "job-dir", env: "REACTORCIDE_JOB_DIR", kind: "string", default: (r) => r.code_dir ?? "/job/src", description: "Working directory of the command (inside /job; default: the code dir)" }),
  field({ name: "job_env", flag: "job-env", env: RUNNER_ENV.jobEnv, kind: "string", default: "", description: "KEY=VALUE lines inline, or an env file inside the workspace" }),
  field({ name: "workspace", flag: "workspace", env: RUNNER_ENV.workspace, kind: "string", default: "", description: "Host directory that stands for /job (default /job inside a job container, ./job elsewhere)" }),
  field({ name: "source_type", flag: "source-type", env: RUNNER_ENV.sourceType, kind: "string", default: "none", allowed: JOB_SOURCE_TYPES, description: "How the source is prepared", jobKey: "source.type", fromJob: (s) => s.source?.type }),
  field({ name: "source_url", flag: "source-url", env: RUNNER_ENV.sourceUrl, kind: "string", default: "", description: "Git URL or local path of the source", jobKey: "source.url", fromJob: (s) => s.source?.url }),
  field({ name: "source_ref", flag: "source-ref", env: RUNNER_ENV.sourceRef, kind: "string", default: "", description: "Branch, tag or commit of the source", jobKey: "source.ref", fromJob: (s) => s.source?.ref }),
  field({ name: "pr_number", flag: "pr-number", env: "REACTORCIDE_PR_NUMBER", kind: "string", default: "", description: "Pull/merge request number: a git source is fetched from refs/pull/N/head or refs/merge-requests/N/head (default: REACTORCIDE_PR_NUMBER of the job env)" }),
  field({ name: "ci_source_type", flag: "ci-source-type", env: RUNNER_ENV.ciSourceType, kind: "string", default: "none", allowed: JOB_SOURCE_TYPES, description: "How the trusted job code is prepared (into /job/ci)", jobKey: "ci_source.type", fromJob: (s) => s.ci_source?.type }),
  field({ name: "ci_source_url", flag: "ci-source-url", env: RUNNER_ENV.ciSourceUrl, kind: "string", default: "", description: "Git URL or local path of the job code", jobKey: "ci_source.url", fromJob: (s) => s.ci_source?.url }),
  field({ name: "ci_source_ref", flag: "ci-source-ref", env: RUNNER_ENV.ciSourceRef, kind: "string", default: "", description: "Branch, tag or commit of the job code", jobKey: "ci_source.ref", fromJob: (s) => s.ci_source?.ref }),
  field({ name: "image", flag: "image", env: "REACTORCIDE_IMAGE", kind: "string", default: "", description: "Run the command in a container of this image", jobKey: "image", fromJob: (s) => s.image }),
  field({ name: "runtime", flag: "runtime", env: "REACTORCIDE_RUNTIME", kind: "string", default: "docker", allowed: CONTAINER_RUNTIMES, description: "Container runtime for --image" }),
  field({ name: "timeout", flag: "timeout", env: "REACTORCIDE_TIMEOUT", kind: "integer", default: "0", description: "Seconds before the job is stopped (exit 124); 0 for none", jobKey: "timeout", fromJob: (s) => s.timeout }),
  field({ name: "grace_period", flag: "grace-period", env: "REACTORCIDE_GRACE_PERIOD", kind: "integer", default: "10", description: "Seconds between SIGTERM and SIGKILL" }),
  field({ name: "cpu", flag: "cpu", env: "REACTORCIDE_CPU", kind: "number", default: "2", description: "CPU limit in containers", jobKey: "resources.cpu", fromJob: (s) => s.resources?.cpu }),
  field({ name: "memory", flag: "memory", env: "REACTORCIDE_MEMORY", kind: "string", default: "2g", description: "Memory limit in containers (e.g. 512m, 2g)", jobKey: "resources.memory", fromJob: (s) => s.resources?.memory }),
  field({ name: "pids", flag: "pids", env: "REACTORCIDE_PIDS", kind: "integer", default: "1024", description: "Process limit in containers", jobKey: "resources.pids", fromJob: (s) => s.resources?.pids }),
  field({ name: "dry_run", flag: "dry-run", env: "REACTORCIDE_DRY_RUN", kind: "boolean", default: "false", description: "Print the configuration, plan and container command; run nothing" }),
];

export function fieldDef(name: FieldName): FieldDef {
  const def = FIELDS.find((f) => f.name === name);
  if (!def) throw new Error(`no config field ${name}`);
  return def;
}

/** Flags as citty args, without defaults so an absent flag is told apart from a given one. */
export function fieldArgs(): Record<string, { type: "string" | "boolean"; description: string }> {
  const args: Record<string, { type: "string" | "boolean"; description: string }> = {};
  for (const f of FIELDS) args[f.flag] = { type: f.kind === "boolean" ? "boolean" : "string", description: `${f.description} [${f.env}]` };
  return args;
}
