import { expect, test } from "bun:test";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { collect, testSpec } from "../testing/collect.ts";
import { ProcessRuntime } from "./process.ts";
import { RefusedError } from "./runtime.ts";
import { selectRuntime } from "./select.ts";

/** A stand-in "runner": a shell script that runs its arguments' script text. */
async function fakeRunner(script: string): Promise<{ runnerPath: string; workspace: string }> {
  const dir = await mkdtemp(join(tmpdir(), "reactorcide-proc-"));
  const runnerPath = join(dir, "runner.sh");
  await writeFile(runnerPath, `#!/bin/sh\n${script}\n`);
  await chmod(runnerPath, 0o755);
  const workspace = join(dir, "ws");
  await Bun.write(join(workspace, ".keep"), "");
  return { runnerPath, workspace };
}

test("process runtime refuses jobs with untrusted source, with a clear reason", async () => {
  const { runnerPath, workspace } = await fakeRunner("true");
  const runtime = new ProcessRuntime({ runnerPath, quiet: true });
  const error = await runtime.start(testSpec({ workspace, argv: ["reactorcide-runner"], untrusted: true })).catch((e) => e);
  expect(error).toBeInstanceOf(RefusedError);
  expect(error.message).toContain("untrusted");
});

test("process runtime runs beside the workspace (REACTORCIDE_WORKSPACE) with only the given env, not the worker's", async () => {
  process.env.REACTORCIDE_HOST_CANARY = "worker-secret-9912";
  const { runnerPath, workspace } = await fakeRunner('pwd; echo "ws=$REACTORCIDE_WORKSPACE"; echo "A=$A"; echo "canary=$REACTORCIDE_HOST_CANARY"; echo err >&2; exit 3');
  const runtime = new ProcessRuntime({ runnerPath, quiet: true });
  const { stdout, stderr, exit } = await collect(await runtime.start(testSpec({ workspace, argv: ["reactorcide-runner", "run"], env: { A: "1" } })));
  delete process.env.REACTORCIDE_HOST_CANARY;
  expect(stdout).toBe(`${dirname(workspace)}\nws=${workspace}\nA=1\ncanary=\n`);
  expect(stderr).toBe("err\n");
  expect(exit.code).toBe(3);
});

test("process runtime stop reaches grandchildren and kills after the grace period", async () => {
  const marker = `61.${Math.floor(Math.random() * 1e6)}`;
  const { runnerPath, workspace } = await fakeRunner(`trap '' TERM; sleep ${marker} & echo started; wait; wait`);
  const runtime = new ProcessRuntime({ runnerPath, quiet: true });
  const job = await runtime.start(testSpec({ workspace, argv: ["reactorcide-runner"] }));
  const out = collect(job);
  await Bun.sleep(300);
  await job.stop(0.5);
  const { exit } = await out;
  expect(exit.code).toBe(137);
  await Bun.sleep(100);
  expect(Bun.spawnSync(["pgrep", "-f", `sleep ${marker}`]).stdout.toString()).toBe("");
});

test("--runtime names what is allowed when given something else", () => {
  expect(() => selectRuntime({ runtime: "lxc" })).toThrow(/--runtime: "lxc".*docker, nerdctl, podman, process/);
  expect(() => selectRuntime({ runtime: "process" })).toThrow(/--runner-path/);
  expect(selectRuntime({ runtime: "podman" }).name).toBe("podman");
});
