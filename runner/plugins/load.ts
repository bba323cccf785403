import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { provideLibraryModule } from "./virtual-module.ts";
import { PLUGIN_PHASES, type Plugin, type PluginHook, type PluginPhase } from "./types.ts";

export const PLUGINS_DIR = join(".reactorcide", "plugins");
const DEFAULT_PRIORITY = 100;

export class PluginLoadError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`plugin ${source}: ${message}`);
    this.name = "PluginLoadError";
  }
}

/** Checks a module's exports and turns them into a Plugin; every mistake names the export. */
export function pluginFromModule(exports: Record<string, unknown>, source: string): Plugin {
  const root = (exports.default && typeof exports.default === "object" ? exports.default : exports) as Record<string, unknown>;
  const name = root.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new PluginLoadError(source, "export `name` must be a string of letters, digits, . _ -");
  }
  const priority = root.priority ?? DEFAULT_PRIORITY;
  if (typeof priority !== "number" || !Number.isFinite(priority)) {
    throw new PluginLoadError(source, "export `priority` must be a number (lower runs first)");
  }
  const hookSource = (root.hooks ?? root) as Record<string, unknown>;
  if (root.hooks !== undefined && (typeof root.hooks !== "object" || root.hooks === null)) {
    throw new PluginLoadError(source, "export `hooks` must be an object of phase functions");
  }
  const hooks: Partial<Record<PluginPhase, PluginHook>> = {};
  for (const [key, value] of Object.entries(hookSource)) {
    if (key === "name" || key === "priority" || key === "hooks" || key === "default") continue;
    if (!(PLUGIN_PHASES as readonly string[]).includes(key)) {
      // A typo (`pre_exec`) would otherwise be a hook that silently never runs.
      throw new PluginLoadError(source, `unknown phase \`${key}\`; allowed: ${PLUGIN_PHASES.join(", ")}`);
    }
    if (typeof value !== "function") throw new PluginLoadError(source, `\`${key}\` must be a function`);
    hooks[key as PluginPhase] = value as PluginHook;
  }
  if (Object.keys(hooks).length === 0) throw new PluginLoadError(source, `no hooks; export one of ${PLUGIN_PHASES.join(", ")}`);
  return { name, priority, hooks, source };
}

export async function importPlugin(file: string): Promise<Plugin> {
  const path = resolve(file);
  if (!existsSync(path)) throw new PluginLoadError(file, "file not found");
  // Plugin files may import the runner library as "reactorcide".
  await provideLibraryModule();
  let exports: Record<string, unknown>;
  try {
    exports = (await import(path)) as Record<string, unknown>;
  } catch (error) {
    throw new PluginLoadError(file, `failed to load: ${(error as Error).message}`);
  }
  return pluginFromModule(exports, file);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export interface PluginSources {
  /** The trusted job code checkout (/job/ci). When it exists, plugins come only from here. */
  ciDir?: string;
  /** The source checkout (/job/src); used only when there is no separate CI checkout. */
  srcDir?: string;
  /** Explicit `--plugin FILE`s. */
  files?: string[];
}

/** Which directory plugins are discovered in: the CI checkout when it exists, never the source then. */
export function trustedPluginRoot(sources: PluginSources): string | null {
  if (sources.ciDir && existsSync(sources.ciDir)) return sources.ciDir;
  if (sources.srcDir && existsSync(sources.srcDir)) return sources.srcDir;
  return null;
}

/**
 * Finds `.reactorcide/plugins/*.ts` (and .js) in the trusted root, plus explicit files. A file
 * that resolves (through links) outside the trusted root is refused: a link in the CI checkout
 * must not pull code from the untrusted source.
 */
export function discoverPluginFiles(sources: PluginSources): string[] {
  const files: string[] = [];
  const root = trustedPluginRoot(sources);
  if (root) {
    const dir = join(root, PLUGINS_DIR);
    if (existsSync(dir) && statSync(dir).isDirectory()) {
      const realRoot = realpathSync(root);
      if (!inside(realRoot, realpathSync(dir))) throw new PluginLoadError(dir, "the plugins directory leads outside its checkout");
      for (const entry of readdirSync(dir).sort()) {
        if (!/\.(ts|js|mjs)$/.test(entry) || /\.test\.(ts|js)$/.test(entry)) continue;
        const file = join(dir, entry);
        if (!inside(realRoot, realpathSync(file))) throw new PluginLoadError(file, "links outside its checkout; refused");
        files.push(file);
      }
    }
  }
  return [...files, ...(sources.files ?? [])];
}

/** Loads every plugin, ordered by priority (then name). Two plugins with one name is an error. */
export async function loadPlugins(sources: PluginSources): Promise<Plugin[]> {
  const plugins: Plugin[] = [];
  for (const file of discoverPluginFiles(sources)) {
    const plugin = await importPlugin(file);
    const clash = plugins.find((p) => p.name === plugin.name);
    if (clash) throw new PluginLoadError(file, `name "${plugin.name}" is already used by ${clash.source}`);
    plugins.push(plugin);
  }
  return sortPlugins(plugins);
}

export function sortPlugins(plugins: Plugin[]): Plugin[] {
  return [...plugins].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
}
