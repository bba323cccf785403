/**
 * The runner's library for job scripts: single-file TypeScript run by `reactorcide-runner script
 * FILE`, importing this module as "reactorcide":
 *
 *   import { runStep, parallel, triggerJob, gitInfo } from "reactorcide";
 *   const test = await runStep({ name: "test", run: "make test" });
 *   if (test.status === "success" && (await gitInfo(".")).branch === "main") await triggerJob("deploy");
 *
 * Steps run in place (the script already runs inside the job's container), with their output
 * prefixed by step. Everything here is also reachable from plain `bun` with a relative import.
 */
import { existsSync } from "node:fs";
import type { StepSpec } from "./protocol/step-spec.ts";
import { runSteps as runStepsWith, type StepResult, type StepsReport } from "./steps/engine.ts";
import { runCommandInPlace } from "./steps/local.ts";
import { formatStepsSummary, writeStepsReport } from "./steps/summary.ts";
import type { Plugin, PluginHook, PluginModule, PluginPhase } from "./plugins/types.ts";

export { triggerJob, triggerJobs, type TriggerOptions, type TriggerResult } from "./triggers/trigger.ts";
export type { TriggerJob } from "./protocol/trigger.ts";
export { registerSecret, registerSecrets } from "./secrets/socket-client.ts";
export { gitInfo, changedFiles, type GitInfo } from "./git/info.ts";
export { PLUGIN_PHASES, type Plugin, type PluginContext, type PluginHook, type PluginPhase } from "./plugins/types.ts";
export type { StepSpec, StepResult, StepsReport };

/** Cancelled when the runner receives SIGTERM: running steps are stopped, later ones not started. */
const cancellation = new AbortController();
export function cancelSteps(): void {
  cancellation.abort();
}

function environment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

const write = (stream: "stdout" | "stderr", text: string) => (stream === "stdout" ? process.stdout : process.stderr).write(text);

/**
 * Runs steps like a job file's `steps:` (parallel, depends_on, if, timeout, continue_on_error),
 * prints the summary table, writes <workspace>/steps.json when there is a workspace, and
 * returns the report.
 */
export async function runSteps(steps: StepSpec[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<StepsReport> {
  const report = await runStepsWith(steps, {
    runCommand: (request) => runCommandInPlace(request),
    env: { ...environment(), ...options.env },
    cwd: options.cwd ?? process.cwd(),
    output: write,
    signal: cancellation.signal,
  });
  write("stdout", formatStepsSummary(report));
  const workspace = process.env.REACTORCIDE_WORKSPACE ?? "/job";
  if (existsSync(workspace)) writeStepsReport(workspace, report);
  return report;
}

/** One step: `runStep({ name: "test", run: "make test" })` or `runStep("test", "make test")`. */
export async function runStep(step: StepSpec | string, run?: string): Promise<StepResult> {
  const spec = typeof step === "string" ? { name: step, run: run ?? "" } : step;
  const report = await runStepsWith([spec], {
    runCommand: (request) => runCommandInPlace(request),
    env: environment(),
    cwd: process.cwd(),
    output: write,
    signal: cancellation.signal,
  });
  return report.steps[0]!;
}

/** A parallel group: the steps start together; resolves with all their results. */
export async function parallel(...steps: StepSpec[]): Promise<StepResult[]> {
  const report = await runStepsWith(
    steps.map((s) => ({ ...s, parallel: true })),
    { runCommand: (r) => runCommandInPlace(r), env: environment(), cwd: process.cwd(), output: write, signal: cancellation.signal },
  );
  return report.steps;
}

const registered: Plugin[] = [];

/** Typed helper for plugin files: `export default definePlugin({ name, priority, hooks })`. */
export function definePlugin(plugin: PluginModule): PluginModule {
  return plugin;
}

/** Adds lifecycle hooks from inside a script: they run in its post_execution, on_error and cleanup. */
export function onPhase(phase: PluginPhase, hook: PluginHook, options: { name?: string; priority?: number } = {}): void {
  registered.push({ name: options.name ?? `script-${registered.length + 1}`, priority: options.priority ?? 100, hooks: { [phase]: hook }, source: "script" });
}

/** Hooks registered with onPhase (read by the script command). */
export function registeredPlugins(): Plugin[] {
  return [...registered];
}
