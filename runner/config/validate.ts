/**
 * Every problem of a resolved configuration at once, each naming the field as the user gave it
 * (flag, variable or job-file key), what is allowed, and a suggestion. Errors stop a run;
 * warnings are printed and the run goes on.
 */
import { MEMORY_PATTERN, JOB_NAME_PATTERN } from "../protocol/patterns.ts";
import { normalizeJobPath } from "../workspace/paths.ts";
import { assertSafeWorkspace } from "../workspace/safety.ts";
import { containerEnvFileText } from "../container/command.ts";
import { checkImage } from "../container/image.ts";
import { FIELDS, type FieldName } from "./fields.ts";
import { FieldError, type ConfigProblem } from "../errors/problem.ts";
import { pullRequestNumber, type ResolvedConfig } from "./resolve.ts";

const NEEDS_URL = new Set(["git", "copy", "tarball"]);

function collect(problems: ConfigProblem[], check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    problems.push(error.toProblem());
  }
}

function checkSource(r: ResolvedConfig, prefix: "source" | "ci_source", problems: ConfigProblem[]): void {
  const { config, labels } = r;
  const type = config[`${prefix}_type`];
  const url = config[`${prefix}_url`];
  const ref = config[`${prefix}_ref`];
  if (NEEDS_URL.has(type) && !url) {
    problems.push({
      severity: "error",
      field: labels[`${prefix}_url`],
      message: `required when ${labels[`${prefix}_type`]} is "${type}"`,
      allowed: type === "git" ? "a git URL or a local repository path" : "a local path" + (type === "tarball" ? " or URL of a tarball" : ""),
      suggestion: `--${prefix.replace("_", "-")}-url <where the ${prefix === "ci_source" ? "job code" : "source"} is>`,
    });
  }
  if (type === "none" && url) {
    problems.push({ severity: "warning", field: labels[`${prefix}_url`], message: `ignored because ${labels[`${prefix}_type`]} is "none"`, suggestion: `set --${prefix.replace("_", "-")}-type git or copy to use it` });
  }
  if (ref && type !== "git") {
    problems.push({ severity: "error", field: labels[`${prefix}_ref`], message: `a ref applies only to git sources, not to "${type}"`, allowed: "a ref with git; nothing otherwise", suggestion: `drop the ref or use ${labels[`${prefix}_type`]} git` });
  }
}

/** Checks that need no I/O beyond the file system. */
export function validateConfig(r: ResolvedConfig): ConfigProblem[] {
  const { config, labels, origins } = r;
  const problems: ConfigProblem[] = [...r.problems];
  const bad = (field: FieldName, message: string, allowed?: string, suggestion?: string) =>
    problems.push({ severity: "error", field: labels[field], message, ...(allowed ? { allowed } : {}), ...(suggestion ? { suggestion } : {}) });

  for (const def of FIELDS) {
    if (def.allowed && !def.allowed.includes(String(config[def.name]))) {
      bad(def.name, `"${config[def.name]}" is not allowed`, def.allowed.join(", "), `use one of: ${def.allowed.join(", ")}`);
    }
  }
  if (!new RegExp(JOB_NAME_PATTERN).test(config.name)) bad("name", `"${config.name}" is not a valid job name`, "letters, digits, . _ - (starting with a letter or digit)");
  if (!config.job_command.trim() && !r.steps?.length) {
    bad("job_command", "required: the shell command to run", "any shell command", "--job-command 'make test' (or `command:` in a job file)");
  }
  collect(problems, () => normalizeJobPath(config.code_dir, labels.code_dir));
  // A job dir that only follows the code dir would repeat the code dir's problem.
  if (origins.job_dir !== "default") collect(problems, () => normalizeJobPath(config.job_dir, labels.job_dir));
  collect(problems, () => assertSafeWorkspace(config.workspace, labels.workspace, r.cwd));
  checkSource(r, "ci_source", problems);
  checkSource(r, "source", problems);
  checkPullRequest(r, problems);
  if (config.source_type !== "none" && normalizeQuiet(config.code_dir) === "/job") {
    bad("code_dir", "the source cannot be prepared into /job itself", "a directory under /job", "use /job/src");
  }
  if (config.source_type !== "none" && config.ci_source_type !== "none" && normalizeQuiet(config.code_dir) === "/job/ci") {
    bad("code_dir", "/job/ci holds the job code (ci_source); the source needs its own directory", "a directory under /job other than /job/ci", "use /job/src");
  }
  if (!new RegExp(MEMORY_PATTERN).test(config.memory)) bad("memory", `"${config.memory}" is not a size`, "bytes or a number with b, k, m or g (e.g. 512m, 2g)");
  if (config.pids < 16) bad("pids", `${config.pids} is too low for a shell and its commands`, "16 or more");
  if (config.image) {
    collect(problems, () => containerEnvFileText(r.jobEnv));
  } else if (origins.runtime !== "default" && !problems.some((p) => p.field === labels.runtime)) {
    problems.push({ severity: "warning", field: labels.runtime, message: "ignored without an image: the command runs in place", suggestion: "add --image to run it in a container" });
  }
  return problems;
}

function checkPullRequest(r: ResolvedConfig, problems: ConfigProblem[]): void {
  const pr = pullRequestNumber(r);
  if (!pr) return;
  if (!/^[1-9][0-9]{0,9}$/.test(pr.value)) {
    problems.push({ severity: "error", field: pr.field, message: `"${pr.value}" is not a pull/merge request number`, allowed: "a positive whole number", suggestion: "--pr-number 7" });
  } else if (r.config.source_type !== "git" && r.origins.pr_number !== "default") {
    problems.push({ severity: "warning", field: pr.field, message: `ignored because ${r.labels.source_type} is "${r.config.source_type}"`, suggestion: "a pull request number applies to git sources only" });
  }
}

function normalizeQuiet(path: string): string | undefined {
  try {
    return normalizeJobPath(path, "");
  } catch {
    return undefined;
  }
}

/** validateConfig plus the checks that ask the container runtime (image present). */
export async function validateAll(r: ResolvedConfig): Promise<ConfigProblem[]> {
  const problems = validateConfig(r);
  // The steps' schema (TypeBox) loads only for a job of steps: a plain command's start skips it.
  if (r.steps) {
    const { stepProblems } = await import("../steps/job.ts");
    for (const p of stepProblems(r.steps)) problems.push({ severity: "error", field: p.field, message: p.message });
  }
  if (r.config.image && !problems.some((p) => p.severity === "error" && p.field === r.labels.runtime)) {
    const image = await checkImage(r.config.runtime, r.config.image, r.labels.image);
    if (image) problems.push(image);
  }
  return problems;
}

export const hasErrors = (problems: ConfigProblem[]): boolean => problems.some((p) => p.severity === "error");
