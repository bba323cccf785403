import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { useTempDirs } from "../testing/temp-dirs.ts";
import { PluginHookError, PluginRunner } from "./lifecycle.ts";
import { loadPlugins, PluginLoadError, pluginFromModule } from "./load.ts";
import type { Plugin, PluginPhase } from "./types.ts";

const workspace = useTempDirs("rc-plugins");

function writePlugin(root: string, file: string, body: string): string {
  const dir = join(root, ".reactorcide", "plugins");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, body);
  return path;
}

const recorder = (log: string[], name: string, priority: number, phases: PluginPhase[], fail?: PluginPhase): Plugin => ({
  name,
  priority,
  source: "test",
  hooks: Object.fromEntries(
    phases.map((phase) => [
      phase,
      () => {
        log.push(`${name}:${phase}`);
        if (phase === fail) throw new Error(`${name} broke`);
      },
    ]),
  ),
});

describe("plugin loading", () => {
  test("loads .reactorcide/plugins from the CI checkout, both export styles, lower priority first", async () => {
    const ws = workspace();
    const ci = join(ws, "ci");
    writePlugin(ci, "b.ts", `export const name = "named"; export const priority = 50; export function pre_execution() {}`);
    writePlugin(ci, "a.ts", `export default { name: "default-style", priority: 10, hooks: { cleanup() {} } };`);
    writePlugin(ci, "c.ts", `export const name = "late"; export function post_execution() {}`);
    writePlugin(ci, "notes.md", "not a plugin");
    const plugins = await loadPlugins({ ciDir: ci, srcDir: join(ws, "src") });
    expect(plugins.map((p) => [p.name, p.priority])).toEqual([
      ["default-style", 10],
      ["named", 50],
      ["late", 100],
    ]);
  });

  test("never loads from the source checkout when a CI checkout exists", async () => {
    const ws = workspace();
    const ci = join(ws, "ci");
    const src = join(ws, "src");
    mkdirSync(ci, { recursive: true });
    writePlugin(src, "evil.ts", `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(join(ws, "pwned"))}, "x"); export const name = "evil"; export function pre_execution() {}`);
    expect(await loadPlugins({ ciDir: ci, srcDir: src })).toEqual([]);
    expect(existsSync(join(ws, "pwned"))).toBe(false);
    // Without a separate CI checkout, the source is the job code and is trusted.
    expect((await loadPlugins({ ciDir: join(ws, "absent"), srcDir: src })).map((p) => p.name)).toEqual(["evil"]);
  });

  test("a link in the CI plugins directory that points into the source is refused", async () => {
    const ws = workspace();
    const ci = join(ws, "ci");
    const src = join(ws, "src");
    const evil = writePlugin(src, "evil.ts", `export const name = "evil"; export function pre_execution() {}`);
    writePlugin(ci, "ok.ts", `export const name = "ok"; export function cleanup() {}`);
    symlinkSync(evil, join(ci, ".reactorcide", "plugins", "linked.ts"));
    await expect(loadPlugins({ ciDir: ci, srcDir: src })).rejects.toThrow("links outside its checkout; refused");
  });

  test("explicit --plugin files load too; mistakes name the export", async () => {
    const ws = workspace();
    const file = join(ws, "extra.ts");
    writeFileSync(file, `export const name = "extra"; export const priority = 1; export function on_error() {}`);
    expect((await loadPlugins({ files: [file] })).map((p) => p.name)).toEqual(["extra"]);
    expect(() => pluginFromModule({ name: "x", pre_exec: () => {} }, "t.ts")).toThrow(
      "plugin t.ts: unknown phase `pre_exec`; allowed: pre_validation, post_validation",
    );
    expect(() => pluginFromModule({ pre_execution: () => {} }, "t.ts")).toThrow("export `name` must be a string");
    expect(() => pluginFromModule({ name: "x", priority: "high", cleanup() {} }, "t.ts")).toThrow("`priority` must be a number");
    expect(() => pluginFromModule({ name: "x" }, "t.ts")).toThrow("no hooks");
    expect(() => pluginFromModule({ name: "x", cleanup: 3 }, "t.ts")).toThrow("`cleanup` must be a function");
    await expect(loadPlugins({ files: [join(ws, "missing.ts")] })).rejects.toBeInstanceOf(PluginLoadError);
    writeFileSync(join(ws, "dup.ts"), `export const name = "extra"; export function cleanup() {}`);
    await expect(loadPlugins({ files: [file, join(ws, "dup.ts")] })).rejects.toThrow('name "extra" is already used');
  });
});

describe("plugin lifecycle", () => {
  const all: PluginPhase[] = [
    "pre_validation",
    "post_validation",
    "pre_source_prep",
    "post_source_prep",
    "pre_execution",
    "post_execution",
    "on_error",
    "cleanup",
  ];
  const init = () => ({ config: { command: "true" }, env: {} as Record<string, string>, workspace: "/tmp", results: {}, log: () => {} });

  test("phases in order around the stages, lower priority first, exit code in results", async () => {
    const log: string[] = [];
    const runner = new PluginRunner([recorder(log, "second", 20, all), recorder(log, "first", 10, ["pre_execution", "post_execution"])], init());
    const code = await runner.lifecycle({
      validation: () => void log.push("validate"),
      sourcePrep: () => void log.push("prepare"),
      execution: () => {
        log.push("execute");
        return 7;
      },
    });
    expect(code).toBe(7);
    expect(runner.context.results.exitCode).toBe(7);
    expect(log).toEqual([
      "second:pre_validation",
      "validate",
      "second:post_validation",
      "second:pre_source_prep",
      "prepare",
      "second:post_source_prep",
      "first:pre_execution",
      "second:pre_execution",
      "execute",
      "first:post_execution",
      "second:post_execution",
      "second:cleanup",
    ]);
  });

  test("hooks can add to the job's environment before execution", async () => {
    const context = init();
    const plugin: Plugin = { name: "env", priority: 1, source: "t", hooks: { pre_execution: (ctx) => void (ctx.env.ADDED = "yes") } };
    let seen = "";
    await new PluginRunner([plugin], context).lifecycle({ execution: () => ((seen = context.env.ADDED ?? ""), 0) });
    expect(seen).toBe("yes");
  });

  test("an error in a stage runs on_error then cleanup, and is rethrown", async () => {
    const log: string[] = [];
    const runner = new PluginRunner([recorder(log, "p", 1, all)], init());
    await expect(
      runner.lifecycle({
        sourcePrep: () => {
          throw new Error("clone failed");
        },
      }),
    ).rejects.toThrow("clone failed");
    expect(log).toEqual(["p:pre_validation", "p:post_validation", "p:pre_source_prep", "p:on_error", "p:cleanup"]);
    expect(runner.context.results.error?.message).toBe("clone failed");
  });

  test("an error in a hook names the plugin and phase; failing cleanup hooks do not stop the others", async () => {
    const log: string[] = [];
    const runner = new PluginRunner(
      [recorder(log, "bad", 1, ["pre_execution", "cleanup"], "pre_execution"), recorder(log, "good", 2, ["on_error", "cleanup"])],
      init(),
    );
    const error = await runner.lifecycle({ execution: () => 0 }).catch((e) => e);
    expect(error).toBeInstanceOf(PluginHookError);
    expect(error.message).toBe("plugin bad failed in pre_execution: bad broke");
    expect(log).toEqual(["bad:pre_execution", "good:on_error", "bad:cleanup", "good:cleanup"]);
  });

  test("cleanup runs when the process gets SIGTERM mid-execution", async () => {
    const ws = workspace();
    const marker = join(ws, "cleaned");
    const script = join(ws, "job.ts");
    writeFileSync(
      script,
      `import { PluginRunner } from ${JSON.stringify(join(import.meta.dir, "lifecycle.ts"))};
       import { writeFileSync } from "node:fs";
       const stop = new AbortController();
       process.on("SIGTERM", () => stop.abort());
       const runner = new PluginRunner([{ name: "c", priority: 1, source: "t", hooks: { cleanup: () => writeFileSync(${JSON.stringify(marker)}, "done") } }],
         { config: {}, env: {}, workspace: ${JSON.stringify(ws)}, results: {} });
       await runner.lifecycle({ execution: () => new Promise((resolve) => {
         console.log("running");
         stop.signal.addEventListener("abort", () => resolve(143));
       }) }).then((code) => process.exit(code));`,
    );
    const proc = Bun.spawn([process.execPath, script], { stdout: "pipe" });
    const reader = proc.stdout.getReader();
    await reader.read(); // "running": the handler is installed and execution is under way
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(readFileSync(marker, "utf8")).toBe("done");
  });
});
