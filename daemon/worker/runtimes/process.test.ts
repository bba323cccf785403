import { expect, test } from "bun:test";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { defaultSettings } from "../settings.ts";
import { collect, testSpec, testWorkspaces } from "../testing/collect.ts";
import { ProcessRuntime } from "./process.ts";
import { RefusedError } from "./runtime.ts";
import { selectRuntime } from "./select.ts";

/** A stand-in "runner": a shell script that runs its arguments' script text. */
const workspaces = testWorkspaces({ owner: null });

async function fakeRunner(script: string): Promise<ProcessRuntime> {
  const dir = await mkdtemp(join(tmpdir(), "reactorcide-proc-"));
  const runnerPath = join(dir, "runner.sh");
  await writeFile(runnerPath, `#!/bin/sh\n${script}\n`);
  await chmod(runnerPath, 0o755);
  return new ProcessRuntime({ runnerPath, quiet: true, workspaces });
}

test("process runtime refuses jobs with untrusted source, with a clear reason", async () => {
  const runtime = await fakeRunner("true");
  const error = await runtime.start(testSpec({ argv: ["reactorcide-runner"], untrusted: true })).catch((e) => e);
  expect(error).toBeInstanceOf(RefusedError);
  expect(error.message).toContain("untrusted");
});

test("process runtime runs beside the workspace (REACTORCIDE_WORKSPACE) with only the given env and job.env, not the worker's; the workspace goes at exit", async () => {
  process.env.REACTORCIDE_HOST_CANARY = "worker-secret-9912";
  const runtime = await fakeRunner('pwd; echo "ws=$REACTORCIDE_WORKSPACE"; echo "A=$A"; echo "canary=$REACTORCIDE_HOST_CANARY"; cat "$REACTORCIDE_JOB_ENV"; echo err >&2; exit 3');
  const spec = testSpec({ argv: ["reactorcide-runner", "run"], env: { A: "1" }, jobEnv: { SECRET: "s 1" } });
  const { stdout, stderr, exit } = await collect(await runtime.start(spec));
  delete process.env.REACTORCIDE_HOST_CANARY;
  const workspace = workspaces.dir(spec.jobId);
  expect(stdout).toBe(`${dirname(workspace)}\nws=${workspace}\nA=1\ncanary=\nSECRET="s 1"\n`);
  expect(stderr).toBe("err\n");
  expect(exit.code).toBe(3);
  expect(existsSync(workspace)).toBe(false);
});

test("process runtime stop reaches grandchildren and kills after the grace period", async () => {
  const marker = `61.${Math.floor(Math.random() * 1e6)}`;
  const runtime = await fakeRunner(`trap '' TERM; sleep ${marker} & echo started; wait; wait`);
  const job = await runtime.start(testSpec({ argv: ["reactorcide-runner"] }));
  const out = collect(job);
  await Bun.sleep(300);
  await job.stop(0.5);
  const { exit } = await out;
  expect(exit.code).toBe(137);
  await Bun.sleep(100);
  expect(Bun.spawnSync(["pgrep", "-f", `sleep ${marker}`]).stdout.toString()).toBe("");
});

test("--runtime names what is allowed when given something else", () => {
  const settings = defaultSettings({ workerId: "w", workspaceRoot: tmpdir() });
  expect(() => selectRuntime({ runtime: "lxc" }, settings)).toThrow(/--runtime: "lxc".*docker, nerdctl, podman, process, kubernetes/);
  expect(() => selectRuntime({ runtime: "process" }, settings)).toThrow(/--runner-path/);
  expect(selectRuntime({ runtime: "podman" }, settings).name).toBe("podman");
});
