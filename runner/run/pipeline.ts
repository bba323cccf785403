/**
 * One run, start to end: validate (all problems at once), print the plan on --dry-run, prepare
 * the workspace and sources, run the command in place or in a container, return its exit code.
 * Every line printed goes through `output` (and so through its Masker): register secret values
 * on `output.masker` before calling runResolved, and they are masked from the first line on.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ResolvedConfig } from "../config/resolve.ts";
import { hasErrors, validateAll } from "../config/validate.ts";
import { CONTAINER_USER, containerEnvFileText, containerKillArgs } from "../container/command.ts";
import { execJob, type ExecResult } from "../exec/process.ts";
import { configView, formatConfig, formatProblem } from "../config/view.ts";
import type { Output } from "../output/output.ts";
import { assertInsideWorkspace } from "../workspace/paths.ts";
import { inPlaceEnvironment, runnerToolEnv } from "./environment.ts";
import { buildPlan, formatPlan, type RunPlan } from "./plan.ts";
import { prepareSources } from "./sources.ts";
import type { PhaseHooks } from "../plugins/job.ts";
import { openRunSocket } from "../secrets/job-socket.ts";

/** Exit code for a configuration the runner refuses (nothing was run). */
export const EXIT_CONFIG = 2;

export async function runResolved(r: ResolvedConfig, output: Output, hooks?: PhaseHooks): Promise<number> {
  const problems = await validateAll(r);
  for (const p of problems) (p.severity === "error" ? output.log.error : output.log.warn)(formatProblem(p));
  if (hasErrors(problems)) {
    output.log.error(`refusing to run: ${problems.filter((p) => p.severity === "error").length} problem(s) above`);
    return EXIT_CONFIG;
  }
  const plan = buildPlan(r);
  if (r.config.dry_run) {
    output.data(formatConfig(configView(r), (cell) => output.masker.mask(cell)) + formatPlan(r, plan));
    output.log.info("dry run: nothing was run");
    return 0;
  }

  const { config } = r;
  await hooks?.at("post_validation");
  try {
    mkdirSync(config.workspace, { recursive: true });
    await hooks?.at("pre_source_prep");
    await prepareSources(config.workspace, plan.sources, output);
    assertInsideWorkspace(config.workspace, plan.hostJobDir, r.labels.job_dir);
    mkdirSync(plan.hostJobDir, { recursive: true });
  } catch (error) {
    // FieldError and SourceError messages already start with the field they name.
    output.log.error((error as Error).message);
    return 1;
  }
  // Values the job registers through REACTORCIDE_SECRETS_SOCKET are masked from then on; closed on return.
  await using secretsSocket = await openRunSocket(r, Boolean(plan.container), output);
  if (!secretsSocket) return 1;
  for (const [key, value] of Object.entries(runnerToolEnv(config, Boolean(plan.container)))) r.jobEnv[key] ??= value;
  await hooks?.at("post_source_prep");
  await hooks?.at("pre_execution");
  if (r.steps?.length) {
    // Loaded only for a job of steps (engine, conditions, steps.json's schema).
    const { runJobSteps } = await import("../steps/job.ts");
    const code = await runJobSteps(r, output, runStepCommand);
    await hooks?.at("post_execution", code);
    return code;
  }

  const started = performance.now();
  output.log.start(`${config.name}: ${commandSummary(config.job_command)}${plan.container ? ` (in ${config.image})` : ""}`);
  const result = plan.container ? await runInContainer(r, plan, output) : await runInPlace(r, plan, output);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.reason === "timeout") output.log.error(`${config.name}: timed out after ${config.timeout} s and was stopped (exit ${result.exitCode})`);
  else if (result.reason === "signal") output.log.warn(`${config.name}: stopped on ${result.signal} (exit ${result.exitCode})`);
  else if (result.exitCode === 0) output.log.success(`${config.name}: succeeded in ${seconds} s`);
  else output.log.error(`${config.name}: failed with exit code ${result.exitCode} after ${seconds} s`);
  await hooks?.at("post_execution", result.exitCode);
  return result.exitCode;
}

/** One step of a job with steps: the config carries the step's command, directory and env. */
async function runStepCommand(step: ResolvedConfig, output: Output): Promise<ExecResult> {
  const plan = buildPlan(step);
  assertInsideWorkspace(step.config.workspace, plan.hostJobDir, "working_dir");
  mkdirSync(plan.hostJobDir, { recursive: true });
  return plan.container ? runInContainer(step, plan, output) : runInPlace(step, plan, output);
}

/** The first line of the command, noting how many more there are. */
function commandSummary(command: string): string {
  const lines = command.trim().split("\n");
  return lines.length > 1 ? `${lines[0]} … (+${lines.length - 1} lines)` : lines[0]!;
}

function stopping(r: ResolvedConfig, output: Output) {
  return (why: { reason: "timeout" } | { reason: "signal"; signal: NodeJS.Signals }) =>
    output.log.warn(
      `${why.reason === "timeout" ? `timeout of ${r.config.timeout} s reached` : `received ${why.signal}`}: stopping the job (SIGTERM, SIGKILL after ${r.config.grace_period} s)`,
    );
}

function runInPlace(r: ResolvedConfig, plan: RunPlan, output: Output): Promise<ExecResult> {
  return execJob({
    argv: ["/bin/sh", "-c", r.config.job_command],
    cwd: plan.hostJobDir,
    env: inPlaceEnvironment(r.jobEnv),
    stdout: output.jobStream("stdout"),
    stderr: output.jobStream("stderr"),
    timeoutSeconds: r.config.timeout,
    graceSeconds: r.config.grace_period,
    onStopping: stopping(r, output),
  });
}

async function runInContainer(r: ResolvedConfig, plan: RunPlan, output: Output): Promise<ExecResult> {
  const container = plan.container!;
  const { config } = r;
  // The image's user (uid 1001) must be able to write the workspace it gets as /job; afterwards
  // the workspace goes back to its owner, so later in-place runs (git's ownership check) work.
  const handBack = handOverWorkspace(config.workspace);
  try {
    // Not recursive: an existing directory (or link) of that name is an error, never reused.
    mkdirSync(dirname(container.envFile), { mode: 0o700 });
    writeFileSync(container.envFile, containerEnvFileText(r.jobEnv), { mode: 0o600, flag: "wx" });
  } catch (error) {
    handBack();
    throw error;
  }
  try {
    return await execJob({
      argv: container.argv,
      cwd: config.workspace,
      // The container CLI (not the job) needs the runner's environment: DOCKER_HOST and the like.
      env: process.env as Record<string, string>,
      stdout: output.jobStream("stdout"),
      stderr: output.jobStream("stderr"),
      timeoutSeconds: config.timeout,
      graceSeconds: config.grace_period,
      onStopping: stopping(r, output),
      stop: async (signal) => {
        const proc = Bun.spawn(containerKillArgs(config.runtime, container.name, signal), { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
        await proc.exited;
      },
    });
  } finally {
    rmSync(dirname(container.envFile), { recursive: true, force: true });
    handBack();
  }
}

/** Workspaces handed to the container user, with how many containers use each right now. */
const handedOver = new Map<string, { users: number; owner: string }>();

/**
 * Gives the workspace to the container user (when running as root) and returns the function that
 * gives it back. Parallel steps share the workspace: it goes back only when the last one ends,
 * or a step still running would lose write access to /job.
 */
function handOverWorkspace(workspace: string): () => void {
  if (process.getuid?.() !== 0) return () => {};
  let entry = handedOver.get(workspace);
  if (!entry) {
    const stat = statSync(workspace);
    const owner = `${stat.uid}:${stat.gid}`;
    if (owner === CONTAINER_USER) return () => {};
    chownTree(workspace, CONTAINER_USER);
    entry = { users: 0, owner };
    handedOver.set(workspace, entry);
  }
  entry.users++;
  const held = entry;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--held.users > 0) return;
    handedOver.delete(workspace);
    chownTree(workspace, held.owner);
  };
}

function chownTree(dir: string, owner: string): void {
  Bun.spawnSync(["chown", "-R", "--no-dereference", owner, dir], { stdout: "ignore", stderr: "ignore" });
}
