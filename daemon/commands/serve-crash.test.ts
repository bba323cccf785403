/**
 * kill -9 of `reactorcide serve` while a job with a secret runs, then a restart: recovery ends the
 * job once, removes what the dead run left on disk (the workspace and its job.env holding the
 * secret), and the job's log says why it ended.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { crashableServe, type CrashableServe } from "../testing/crash-serve.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

test("after kill -9 of serve mid-job, recovery removes the job's workspace and secrets file and its log ends with why", async () => {
  const bin = mkdtempSync(join(tmpdir(), "rc-crash-bin-"));
  const runnerPath = join(bin, "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  chmodSync(runnerPath, 0o755);
  const d: CrashableServe = await crashableServe("serve_crash", { flags: ["--runtime", "process", "--runner-path", runnerPath, "--lease-seconds", "2"] });
  cleanups.push(() => d.close(), async () => rmSync(bin, { recursive: true, force: true }));
  await d.start();
  expect((await d.call("POST", "/api/v1/projects", { name: "crash", default_image: "busybox" })).status).toBe(201);
  const secret = "crash-Deploy-Token-51z";
  expect((await d.call("PUT", "/api/v1/projects/crash/secrets/DEPLOY_TOKEN", { value: secret })).status).toBeLessThan(300);
  const job = (await d.call("POST", "/api/v1/jobs", { name: "deploy", project: "crash", command: "echo started; sleep 20", secrets: ["DEPLOY_TOKEN"] })).json as { id: string };
  const workspace = join(d.dataDir, "workspaces", job.id);
  const deadline = Date.now() + 30_000;
  while (!(await d.call("GET", `/api/v1/jobs/${job.id}/logs`)).text.includes("started")) {
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(50);
  }
  // The premise: while it runs, the secret is on disk for the runner.
  expect(readFileSync(join(workspace, "job.env"), "utf8")).toContain(secret);

  await d.kill();
  const second = await d.start();
  let ended: { status: string; reason: string } | undefined;
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const now = (await d.call("GET", `/api/v1/jobs/${job.id}`)).json as { status: string; reason: string };
    if (!["queued", "running"].includes(now.status)) {
      ended = now;
      break;
    }
    await Bun.sleep(100);
  }
  expect(ended?.status).toBe("error");
  expect(ended?.reason).toContain("stopped responding");
  expect(existsSync(join(workspace, "job.env"))).toBe(false);
  expect(existsSync(workspace)).toBe(false);
  const log = (await d.call("GET", `/api/v1/jobs/${job.id}/logs`)).text;
  expect(log).toContain("started\n");
  expect(log.trimEnd().split("\n").at(-1)).toStartWith("[reactorcide] error: the worker running this job stopped responding");
  expect(await second.stop()).toBe(0);
}, 180_000);
