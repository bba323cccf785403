import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_IMAGE as RUNNER_IMAGE } from "../protocol/job.ts";
import { ensureRunnerBinary } from "./binary.ts";

const root = join(import.meta.dir, "..", "..");
let building: Promise<string> | undefined;

/**
 * Builds the local runner image (scripts/image.ts) around this process's compiled runner, once per
 * test process, and returns its tag. Serialised across processes with flock(1). The first build on
 * a machine runs debootstrap (minutes); later ones only add the thin runner layer (seconds).
 */
export function ensureRunnerImage(): Promise<string> {
  building ??= (async () => {
    const binary = await ensureRunnerBinary();
    mkdirSync(join(root, ".image-cache"), { recursive: true });
    const proc = Bun.spawn(
      ["flock", join(root, ".image-cache", "build.lock"), process.execPath, join(root, "scripts", "image.ts"), "runner", "--binary", binary],
      { cwd: root, stdout: "pipe", stderr: "pipe" },
    );
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`building ${RUNNER_IMAGE} failed (exit ${code}):\n${err}${out}`);
    return RUNNER_IMAGE;
  })();
  return building;
}
