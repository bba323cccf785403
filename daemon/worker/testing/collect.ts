import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostWorkspaces } from "../runtimes/host-workspace.ts";
import type { Exit, RunningJob, RunSpec } from "../runtimes/runtime.ts";

/** Reads a started job to the end: its whole stdout, stderr and exit, once what it had is removed. */
export async function collect(job: RunningJob): Promise<{ stdout: string; stderr: string; exit: Exit }> {
  const [stdout, stderr, exit] = await Promise.all([new Response(job.stdout).text(), new Response(job.stderr).text(), job.exited]);
  await job.removed;
  return { stdout, stderr, exit };
}

/** Host workspaces under a fresh root, owned by the image's user 1001 as the worker makes them. */
export function testWorkspaces(options: { keep?: boolean; owner?: { uid: number; gid: number } | null } = {}): HostWorkspaces {
  const owner = options.owner !== undefined ? options.owner : process.getuid?.() === 0 ? { uid: 1001, gid: 1001 } : null;
  return new HostWorkspaces({ root: mkdtempSync(join(tmpdir(), "reactorcide-ws-")), owner, keep: options.keep ?? false });
}

/** A RunSpec with small, safe defaults for tests. */
export function testSpec(overrides: Partial<RunSpec> & Pick<RunSpec, "argv">): RunSpec {
  return {
    jobId: `t${crypto.randomUUID().slice(0, 8)}`,
    image: "",
    env: {},
    jobEnv: {},
    limits: { memoryBytes: 256 * 2 ** 20, cpus: 1, pids: 128 },
    timeoutSeconds: 600,
    graceSeconds: 2,
    network: "default",
    readOnlyRoot: false,
    untrusted: false,
    ...overrides,
  };
}
