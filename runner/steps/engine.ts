import { resolve } from "node:path";
import { TRIGGER_LINE_PREFIX } from "../protocol/trigger.ts";
import type { StepSpec } from "../protocol/workflow-spec.ts";
import type { StepResult, StepsReport, StepStatus } from "../protocol/step-result.ts";
import { shouldRun } from "./condition.ts";
import { planSteps, type PlannedStep } from "./plan.ts";

export type OutputStream = "stdout" | "stderr";
// steps.json's records: the contract's (runner/protocol/step-result.ts), so the worker reads what this writes.
export type { StepResult, StepsReport, StepStatus };

/** One command to run: in place, in a container, wherever the injected runner puts it. */
export interface CommandRequest {
  step: string;
  command: string;
  env: Record<string, string>;
  cwd: string;
  /** Aborted on the step's timeout or the job's cancellation: stop the command, then resolve. */
  signal: AbortSignal;
  onLine: (stream: OutputStream, line: string) => void;
}
export type RunCommand = (request: CommandRequest) => Promise<{ exitCode: number }>;

export interface StepEngineOptions {
  runCommand: RunCommand;
  /** The job's environment; each step adds its own `env`. */
  env: Record<string, string>;
  /** Where steps run unless they set working_dir (relative working_dir resolves from here). */
  cwd: string;
  /** Maps and checks a step's working_dir; throw to refuse it. Default: resolve from cwd. */
  resolveDir?: (dir: string, step: string) => string;
  /** Every line the engine prints, already prefixed with `[step] `. */
  output: (stream: OutputStream, text: string) => void;
  signal?: AbortSignal;
  onStepStart?: (step: StepSpec) => void | Promise<void>;
  onStepEnd?: (result: StepResult) => void | Promise<void>;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** Whether this result makes failure() true for steps after it. */
export function countsAsFailure(result: StepResult): boolean {
  return (result.status === "failure" && !result.continuedOnError) || result.status === "cancelled";
}

async function runOne(planned: PlannedStep, options: StepEngineOptions): Promise<StepResult> {
  const { spec } = planned;
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const say = (text: string) => options.output("stdout", `[${spec.name}] ${text}\n`);
  const base = { name: spec.name, startedAt, timedOut: false, continuedOnError: false };
  const finish = (status: StepStatus, exitCode: number | null, extra: Partial<StepResult> = {}): StepResult => {
    const result: StepResult = { ...base, status, exitCode, durationMs: Math.round(performance.now() - started), ...extra };
    if (status === "failure" && spec.continue_on_error) result.continuedOnError = true;
    const tail = result.reason ? `: ${result.reason}` : "";
    say(`${status}${result.continuedOnError ? " (continue_on_error)" : ""} in ${seconds(result.durationMs)}${exitCode === null ? "" : `, exit ${exitCode}`}${tail}`);
    return result;
  };

  let cwd: string;
  try {
    cwd = spec.working_dir ? (options.resolveDir ?? ((d) => resolve(options.cwd, d)))(spec.working_dir, spec.name) : options.cwd;
  } catch (error) {
    return finish("failure", null, { reason: `working_dir: ${(error as Error).message}` });
  }
  const timeout = spec.timeout ? AbortSignal.timeout(spec.timeout * 1000) : null;
  const signals = [options.signal, timeout].filter((s): s is AbortSignal => !!s);
  const signal = signals.length ? AbortSignal.any(signals) : new AbortController().signal;
  say(`start: ${spec.run.split("\n")[0]}${spec.run.includes("\n") ? " ..." : ""}`);
  await options.onStepStart?.(spec);
  try {
    const { exitCode } = await options.runCommand({
      step: spec.name,
      command: spec.run,
      env: { ...options.env, ...spec.env },
      cwd,
      signal,
      // Trigger lines stay unprefixed: workers look for them at the start of a line.
      onLine: (stream, line) =>
        options.output(stream, line.startsWith(TRIGGER_LINE_PREFIX) ? `${line}\n` : `[${spec.name}] ${line}\n`),
    });
    if (timeout?.aborted) return finish("failure", exitCode, { timedOut: true, reason: `timed out after ${spec.timeout}s` });
    if (options.signal?.aborted) return finish("cancelled", exitCode, { reason: "job cancelled" });
    return finish(exitCode === 0 ? "success" : "failure", exitCode);
  } catch (error) {
    return finish("failure", null, { reason: (error as Error).message });
  }
}

/**
 * Runs a job's steps: in order, parallel runs together, depends_on honoured, `if:` evaluated when
 * a step becomes ready, each step's timeout enforced. Returns every step's result in file order.
 */
export async function runSteps(steps: StepSpec[], options: StepEngineOptions): Promise<StepsReport> {
  const plan = planSteps(steps);
  const started = performance.now();
  const results = new Map<string, StepResult>();
  const running = new Map<string, Promise<void>>();
  let pending = [...plan];

  const record = async (result: StepResult) => {
    results.set(result.name, result);
    await options.onStepEnd?.(result);
  };
  const notRun = (name: string, status: "skipped" | "cancelled", reason: string): StepResult => {
    options.output("stdout", `[${name}] ${status}: ${reason}\n`);
    return { name, status, exitCode: null, durationMs: 0, startedAt: null, timedOut: false, continuedOnError: false, reason };
  };

  while (pending.length || running.size) {
    let progressed = false;
    for (const step of pending) {
      if (!step.waitsFor.every((dep) => results.has(dep))) continue;
      pending = pending.filter((p) => p !== step);
      progressed = true;
      const name = step.spec.name;
      if (options.signal?.aborted) {
        await record(notRun(name, "cancelled", "job cancelled"));
        continue;
      }
      const failed = [...step.upstream].some((up) => countsAsFailure(results.get(up)!));
      const outcomes = Object.fromEntries([...results].map(([n, r]) => [n, r.status]));
      if (!shouldRun(step.condition, { env: { ...options.env, ...step.spec.env }, steps: outcomes, failed })) {
        await record(notRun(name, "skipped", step.spec.if ? `if: ${step.spec.if}` : "an earlier step failed"));
        continue;
      }
      running.set(
        name,
        runOne(step, options).then(async (result) => {
          running.delete(name);
          await record(result);
        }),
      );
    }
    // Skips and cancellations can make further steps ready at once; otherwise wait for one to end.
    if (!progressed && running.size) await Promise.race(running.values());
  }

  const ordered = plan.map((p) => results.get(p.spec.name)!);
  return {
    success: !ordered.some(countsAsFailure),
    durationMs: Math.round(performance.now() - started),
    steps: ordered,
  };
}
