import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
let building: Promise<string> | undefined;

/** Compiles dist/reactorcide (and dist/pg/) once per test process, under the same flock as other suites' builds. */
export function ensureDaemonBinary(): Promise<string> {
  building ??= (async () => {
    // The lock lives in dist/, which a clean clone does not have yet.
    mkdirSync(join(root, "dist"), { recursive: true });
    const proc = Bun.spawn(["flock", join(root, "dist", ".build.lock"), process.execPath, join(root, "scripts", "build.ts"), "daemon"], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`building the daemon failed (exit ${code}):\n${err}${out}`);
    return join(root, "dist", "reactorcide");
  })();
  return building;
}
