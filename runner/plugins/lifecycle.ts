import { sortPlugins } from "./load.ts";
import type { Plugin, PluginContext, PluginPhase } from "./types.ts";

export class PluginHookError extends Error {
  constructor(
    readonly plugin: string,
    readonly phase: PluginPhase,
    override readonly cause: Error,
  ) {
    super(`plugin ${plugin} failed in ${phase}: ${cause.message}`);
    this.name = "PluginHookError";
  }
}

/** The work between the hooks; each stage is optional (no source to prepare, say). */
export interface LifecycleStages {
  validation?: () => void | Promise<void>;
  sourcePrep?: () => void | Promise<void>;
  execution?: () => number | Promise<number>;
}

export type ContextInit = Omit<PluginContext, "phase" | "log"> & { log?: (message: string) => void };

/**
 * Runs plugins around a job: pre/post validation, source preparation and execution. Any error
 * (a stage's or a hook's) runs on_error; cleanup always runs, also after SIGTERM (callers abort
 * the execution stage and let this function finish). Returns the execution's exit code.
 */
export class PluginRunner {
  private plugins: Plugin[];
  readonly context: PluginContext;
  private cleanedUp = false;

  constructor(plugins: Plugin[], init: ContextInit) {
    this.plugins = sortPlugins(plugins);
    this.context = { ...init, phase: "pre_validation", log: init.log ?? ((m) => console.log(m)) };
  }

  /** Adds a plugin while the job runs (a script's onPhase hooks), for the phases still to come. */
  add(plugin: Plugin): void {
    this.plugins = sortPlugins([...this.plugins, plugin]);
  }

  private async runHook(plugin: Plugin, phase: PluginPhase): Promise<void> {
    const hook = plugin.hooks[phase];
    if (!hook) return;
    this.context.phase = phase;
    const outerLog = this.context.log;
    // The hook gets the shared env/results objects, with a log that names the plugin.
    const context: PluginContext = { ...this.context, log: (m) => outerLog(`[plugin ${plugin.name}] ${m}`) };
    try {
      await hook(context);
    } catch (error) {
      throw new PluginHookError(plugin.name, phase, error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Runs one phase's hooks in priority order; the first failure stops the phase and is thrown. */
  async run(phase: PluginPhase): Promise<void> {
    for (const plugin of this.plugins) await this.runHook(plugin, phase);
  }

  /** on_error and cleanup hooks must all get their chance: failures there are logged, not thrown. */
  private async runEachQuietly(phase: PluginPhase): Promise<void> {
    for (const plugin of this.plugins) {
      try {
        await this.runHook(plugin, phase);
      } catch (error) {
        this.context.log(`warning: ${(error as Error).message}`);
      }
    }
  }

  /** Records the error and runs every on_error hook (their own failures are only logged). */
  async fail(error: unknown): Promise<void> {
    this.context.results.error = error instanceof Error ? error : new Error(String(error));
    await this.runEachQuietly("on_error");
  }

  async cleanup(): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    await this.runEachQuietly("cleanup");
  }

  async lifecycle(stages: LifecycleStages): Promise<number> {
    try {
      await this.run("pre_validation");
      await stages.validation?.();
      await this.run("post_validation");
      await this.run("pre_source_prep");
      await stages.sourcePrep?.();
      await this.run("post_source_prep");
      await this.run("pre_execution");
      const exitCode = stages.execution ? await stages.execution() : 0;
      this.context.results.exitCode = exitCode;
      await this.run("post_execution");
      return exitCode;
    } catch (error) {
      await this.fail(error);
      throw error;
    } finally {
      await this.cleanup();
    }
  }
}
