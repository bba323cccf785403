/**
 * Plugins around `run` / `run-job`: the run layer calls `at(phase)` where each phase begins or
 * ends; on_error runs when the job is refused or cannot be prepared (or anything throws);
 * cleanup always runs, also when SIGTERM arrives outside the job's own execution.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/resolve.ts";
import type { Output } from "../output/output.ts";
import { hostPath } from "../workspace/paths.ts";
import { PluginRunner } from "./lifecycle.ts";
import { discoverPluginFiles, importPlugin } from "./load.ts";
import type { Plugin, PluginPhase } from "./types.ts";

export interface PhaseHooks {
  /** Runs the phase's hooks; post_execution gets the job's exit code. */
  at(phase: Exclude<PluginPhase, "on_error" | "cleanup" | "pre_validation">, exitCode?: number): Promise<void>;
}

async function loadNew(files: string[], loaded: Plugin[]): Promise<Plugin[]> {
  const fresh: Plugin[] = [];
  for (const file of files) {
    if (loaded.some((p) => p.source === file)) continue;
    const plugin = await importPlugin(file);
    const clash = [...loaded, ...fresh].find((p) => p.name === plugin.name);
    if (clash) throw new Error(`plugin ${file}: name "${plugin.name}" is already used by ${clash.source}`);
    fresh.push(plugin);
  }
  return fresh;
}

export async function runWithPlugins(
  r: ResolvedConfig,
  output: Output,
  pluginFiles: string[],
  body: (hooks: PhaseHooks) => Promise<number>,
): Promise<number> {
  const { config } = r;
  const ciDir = join(config.workspace, "ci");
  const trusted = () => {
    let srcDir: string | undefined;
    try {
      srcDir = hostPath(config.workspace, config.code_dir, "code_dir");
    } catch {
      srcDir = undefined; // validation reports a bad code_dir
    }
    return { ciDir, ...(srcDir ? { srcDir } : {}) };
  };
  const loaded: Plugin[] = [];
  const runner = new PluginRunner([], {
    config: config as unknown as Record<string, unknown>,
    env: r.jobEnv,
    workspace: config.workspace,
    results: {},
    log: (message) => output.log.info(message),
  });
  const add = async (files: string[]) => {
    for (const plugin of await loadNew(files, loaded)) {
      loaded.push(plugin);
      runner.add(plugin);
    }
  };

  let executing = false;
  let executed = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // While the job runs, the run layer stops it and returns; cleanup follows from there.
    if (executing) return;
    output.log.warn(`received ${signal}: running cleanup hooks`);
    void runner.cleanup().then(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const hooks: PhaseHooks = {
    async at(phase, exitCode) {
      if (phase === "post_source_prep") {
        // The CI checkout exists only now: its plugins join from here on (never /job/src when it exists).
        await add(discoverPluginFiles(trusted()));
      }
      if (phase === "pre_execution") executing = true;
      if (phase === "post_execution") {
        executing = false;
        executed = true;
        runner.context.results.exitCode = exitCode;
      }
      await runner.run(phase);
    },
  };

  try {
    // Plugins given with --plugin, and those of a CI checkout that is already there, unless this
    // run prepares its own: a /job/ci left in the workspace may be what an earlier job wrote there.
    const stale = config.ci_source_type !== "none";
    await add(discoverPluginFiles({ ...(existsSync(ciDir) && !stale ? trusted() : {}), files: pluginFiles }));
    await runner.run("pre_validation");
    const code = await body(hooks);
    if (!executed && code !== 0) await runner.fail(new Error(`the job was not run (exit ${code})`));
    return code;
  } catch (error) {
    output.log.error((error as Error).message);
    await runner.fail(error);
    return 1;
  } finally {
    executing = false;
    await runner.cleanup();
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
