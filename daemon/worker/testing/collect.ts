import { chown, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Exit, RunningJob, RunSpec } from "../runtimes/runtime.ts";

/** Reads a started job to the end: its whole stdout, stderr and exit. */
export async function collect(job: RunningJob): Promise<{ stdout: string; stderr: string; exit: Exit }> {
  const [stdout, stderr, exit] = await Promise.all([new Response(job.stdout).text(), new Response(job.stderr).text(), job.exited]);
  return { stdout, stderr, exit };
}

/** A workspace directory owned by the image's user 1001, as the worker makes them. */
export async function tempWorkspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "reactorcide-ws-"));
  if (process.getuid?.() === 0) await chown(dir, 1001, 1001);
  return dir;
}

/** A RunSpec with small, safe defaults for tests. */
export function testSpec(overrides: Partial<RunSpec> & Pick<RunSpec, "workspace" | "argv">): RunSpec {
  return {
    jobId: `t${crypto.randomUUID().slice(0, 8)}`,
    image: "",
    env: {},
    limits: { memoryBytes: 256 * 2 ** 20, cpus: 1, pids: 128 },
    network: "default",
    readOnlyRoot: false,
    untrusted: false,
    ...overrides,
  };
}
