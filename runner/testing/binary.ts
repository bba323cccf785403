import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
let building: Promise<string> | undefined;

/**
 * Compiles dist/reactorcide-runner once per test process and returns its path. Builds from other
 * processes are serialised with flock(1) so two suites never write the binary at the same time.
 */
export function ensureRunnerBinary(): Promise<string> {
  building ??= (async () => {
    mkdirSync(join(root, "dist"), { recursive: true });
    const proc = Bun.spawn(
      ["flock", join(root, "dist", ".build.lock"), process.execPath, join(root, "scripts", "build.ts"), "runner"],
      { cwd: root, stdout: "pipe", stderr: "pipe" },
    );
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`building the runner failed (exit ${code}):\n${err}${out}`);
    return join(root, "dist", "reactorcide-runner");
  })();
  return building;
}
