/**
 * Steps inside `run` / `run-job`: each step goes through the run layer's own single-command path
 * (in place, or one hardened container per step on the same /job workspace), so process groups,
 * grace periods, container hardening and masking are the same as for a plain `command:`.
 */
import { posix } from "node:path";
import type { ResolvedConfig } from "../config/resolve.ts";
import { Output, type Sink } from "../output/output.ts";
import type { Problem } from "../protocol/problems.ts";
import { schemaProblems } from "../protocol/problems.ts";
import { StepsSchema, type StepSpec } from "../protocol/step-spec.ts";
import { normalizeJobPath } from "../workspace/paths.ts";
import { runSteps, type RunCommand } from "./engine.ts";
import { planSteps, StepPlanError } from "./plan.ts";
import { formatStepsSummary, writeStepsReport } from "./summary.ts";

/** Runs one command the way the run layer runs a job's command; the caller's config is adjusted per step. */
export type RunOne = (step: ResolvedConfig, output: Output) => Promise<{ exitCode: number; reason: string }>;

export const EXIT_TIMEOUT = 124;

/** Everything wrong with a job's `steps:` (schema, names, depends_on, if:), each with its field. */
export function stepProblems(steps: unknown): Problem[] {
  const problems = schemaProblems(StepsSchema, steps, "steps");
  if (problems.length) return problems;
  try {
    planSteps(steps as StepSpec[]);
    return [];
  } catch (error) {
    if (error instanceof StepPlanError) return error.problems;
    throw error;
  }
}

/** A sink that cuts masked text into lines and hands each on (the last partial line at end). */
class LineSink implements Sink {
  private buffered = "";
  private readonly decoder = new TextDecoder();
  constructor(private readonly onLine: (line: string) => void) {}
  write(text: string | Uint8Array): void {
    this.buffered += typeof text === "string" ? text : this.decoder.decode(text, { stream: true });
    let at: number;
    while ((at = this.buffered.indexOf("\n")) >= 0) {
      this.onLine(this.buffered.slice(0, at).replace(/\r$/, ""));
      this.buffered = this.buffered.slice(at + 1);
    }
  }
  flush(): void {
    if (this.buffered) this.onLine(this.buffered);
    this.buffered = "";
  }
}

/**
 * Runs the job's steps and returns the job's exit code: 0 when the steps succeeded, 143/130 when
 * the runner was stopped by SIGTERM/SIGINT, 124 when the job's timeout ended it, else the exit
 * code of the first failed step (1 if it has none). Prints the summary table and writes
 * <workspace>/steps.json.
 */
export async function runJobSteps(r: ResolvedConfig, output: Output, runOne: RunOne): Promise<number> {
  const steps = r.steps as StepSpec[];
  const { config } = r;
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    // The running step's process group gets the signal from the run layer; no new step starts.
    stoppedBy = signal;
    controller.abort();
  };
  const onTerm = () => onSignal("SIGTERM");
  const onInt = () => onSignal("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  const deadline = config.timeout > 0 ? Date.now() + config.timeout * 1000 : null;
  let jobTimedOut = false;
  const jobTimer = deadline ? setTimeout(() => ((jobTimedOut = true), controller.abort()), config.timeout * 1000) : null;

  const streams = { stdout: output.jobStream("stdout"), stderr: output.jobStream("stderr") };
  const runCommand: RunCommand = async (request) => {
    const lines = {
      stdout: new LineSink((line) => request.onLine("stdout", line)),
      stderr: new LineSink((line) => request.onLine("stderr", line)),
    };
    const stepOutput = new Output({ masker: output.masker, stdout: lines.stdout, stderr: lines.stderr });
    // The step's own timeout, cut to what is left of the job's.
    const step = steps.find((s) => s.name === request.step);
    const left = deadline ? Math.max(1, Math.ceil((deadline - Date.now()) / 1000)) : 0;
    const timeout = step?.timeout && left ? Math.min(step.timeout, left) : (step?.timeout ?? left);
    try {
      const result = await runOne(
        { ...r, config: { ...config, job_command: request.command, job_dir: request.cwd, timeout }, jobEnv: request.env },
        stepOutput,
      );
      return { exitCode: result.exitCode };
    } finally {
      lines.stdout.flush();
      lines.stderr.flush();
    }
  };

  try {
    const report = await runSteps(steps, {
      runCommand,
      env: r.jobEnv,
      cwd: config.job_dir,
      // Step directories are /job paths like job_dir: relative to it, never outside /job.
      resolveDir: (dir, name) => normalizeJobPath(posix.resolve(config.job_dir, dir), `steps.${name}.working_dir`),
      output: (stream, text) => streams[stream].write(text),
      signal: controller.signal,
    });
    streams.stdout.end();
    streams.stderr.end();
    output.data(formatStepsSummary(report, (cell) => output.masker.mask(cell)));
    writeStepsReport(config.workspace, report);
    if (stoppedBy) return stoppedBy === "SIGINT" ? 130 : 143;
    if (jobTimedOut) {
      output.log.error(`${config.name}: timed out after ${config.timeout} s`);
      return EXIT_TIMEOUT;
    }
    if (report.success) return 0;
    const failed = report.steps.find((s) => s.status === "failure" && !s.continuedOnError);
    return failed?.exitCode || 1;
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    if (jobTimer) clearTimeout(jobTimer);
  }
}
