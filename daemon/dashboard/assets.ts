import { embeddedAssets } from "./embedded.ts";

/** The dashboard's built files by name (`main.js`, `main.css`), as served under /assets/. */
export interface DashboardAssets {
  files: Record<string, { type: string; body: string }>;
}

const TYPES: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/** Bundles daemon/dashboard/ui with Bun's bundler: the compiled daemon embeds the result, a source checkout builds it on first use. */
export async function buildDashboard(): Promise<DashboardAssets> {
  // Bun.build throws an AggregateError ("Bundle failed") whose errors say what and where.
  const result = await Bun.build({
    entrypoints: [`${import.meta.dir}/ui/main.tsx`],
    target: "browser",
    minify: true,
    naming: "[name].[ext]",
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    throw: false,
  });
  if (!result.success) throw new Error(`the dashboard did not build:\n${result.logs.map(String).join("\n")}`);
  const files: DashboardAssets["files"] = {};
  for (const output of result.outputs) {
    const name = output.path.split("/").at(-1)!;
    const ext = name.split(".").at(-1)!;
    if (!TYPES[ext]) continue;
    files[name] = { type: TYPES[ext]!, body: await output.text() };
  }
  if (!files["main.js"]) throw new Error("the dashboard build wrote no main.js");
  return { files };
}

let loading: Promise<DashboardAssets> | undefined;

/** The assets: embedded in a compiled daemon, else built once per process. */
export function dashboardAssets(): Promise<DashboardAssets> {
  loading ??= embeddedAssets ? Promise.resolve(embeddedAssets) : buildDashboard();
  return loading;
}
