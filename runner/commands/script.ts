import { defineCommand } from "citty";
import { consola } from "consola";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { cancelSteps, registeredPlugins } from "../lib.ts";
import { PluginRunner } from "../plugins/lifecycle.ts";
import { loadPlugins } from "../plugins/load.ts";
import { provideLibraryModule } from "../plugins/virtual-module.ts";

export default defineCommand({
  meta: {
    name: "script",
    description: 'Run a single-file TypeScript job script that imports the runner library as "reactorcide"',
  },
  args: {
    file: { type: "positional", required: true, description: "The script (.ts or .js)" },
    plugin: { type: "string", description: "A plugin file to load as well" },
  },
  async run({ args }) {
    const file = resolve(args.file);
    if (!existsSync(file)) {
      consola.error(`FILE: ${args.file} not found`);
      process.exit(2);
    }
    await provideLibraryModule();
    const workspace = process.env.REACTORCIDE_WORKSPACE ?? "/job";
    let plugins;
    try {
      plugins = await loadPlugins({ ciDir: `${workspace}/ci`, srcDir: `${workspace}/src`, files: args.plugin ? [args.plugin] : [] });
    } catch (error) {
      consola.error((error as Error).message);
      process.exit(2);
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    const runner = new PluginRunner(plugins, { config: { script: file }, env, workspace, results: {} });

    // SIGTERM: stop running steps, let the script's promise settle, run cleanup, exit 143.
    let stopped = false;
    const onSignal = (signal: NodeJS.Signals) => {
      stopped = true;
      consola.warn(`received ${signal}: stopping steps`);
      cancelSteps();
      void runner.cleanup().then(() => process.exit(signal === "SIGINT" ? 130 : 143));
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    // The script sees itself as argv[1] and its own arguments after it.
    const extra = process.argv.slice(process.argv.indexOf(args.file) + 1);
    process.argv = [process.argv[0]!, file, ...extra];
    let code = 0;
    try {
      code = await runner.lifecycle({
        execution: async () => {
          await import(file);
          // Hooks the script registered (onPhase) join for the phases after it.
          for (const p of registeredPlugins()) runner.add(p);
          return typeof process.exitCode === "number" ? process.exitCode : 0;
        },
      });
    } catch (error) {
      consola.error((error as Error).message);
      code = 1;
    }
    if (!stopped) process.exit(code);
  },
});
