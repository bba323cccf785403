import type { StepsReport } from "../steps/engine.ts";

export const PLUGIN_PHASES = [
  "pre_validation",
  "post_validation",
  "pre_source_prep",
  "post_source_prep",
  "pre_execution",
  "post_execution",
  "on_error",
  "cleanup",
] as const;
export type PluginPhase = (typeof PLUGIN_PHASES)[number];

/** What hooks see. `env` is the job's environment: a pre_execution hook may add to it. */
export interface PluginContext {
  phase: PluginPhase;
  /** The resolved job configuration (read-only by convention). */
  config: Readonly<Record<string, unknown>>;
  env: Record<string, string>;
  workspace: string;
  results: {
    exitCode?: number;
    steps?: StepsReport;
    /** The error that led to on_error (and is still set during cleanup). */
    error?: Error;
  };
  /** Prints through the runner's output (and so its secret masking), prefixed with the plugin. */
  log: (message: string) => void;
}

export type PluginHook = (context: PluginContext) => void | Promise<void>;

export interface Plugin {
  name: string;
  /** Lower runs first; default 100. */
  priority: number;
  hooks: Partial<Record<PluginPhase, PluginHook>>;
  /** Where it was loaded from, for messages. */
  source: string;
}

/** The shape a plugin module may export (as `default`, or as named exports). */
export interface PluginModule {
  name: string;
  priority?: number;
  hooks?: Partial<Record<PluginPhase, PluginHook>>;
}
