/**
 * kill -9 of `reactorcide serve` while a job with a secret runs, then a restart: recovery ends the
 * job once, removes what the dead run left on disk (the workspace and its job.env holding the
 * secret), and the job's log says why it ended.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { testDatabase } from "../testing/postgres.ts";
import { startServe, type Served } from "../testing/serve-process.ts";

const source = [process.execPath, join(import.meta.dir, "..", "main.ts")];
const running: Served[] = [];
afterAll(async () => {
  for (const s of running) if (s.proc.exitCode === null) await s.stop();
});

test("after kill -9 of serve mid-job, recovery removes the job's workspace and secrets file and its log ends with why", async () => {
  const base = mkdtempSync(join(tmpdir(), "rc-crash-"));
  chmodSync(base, 0o711);
  const dataDir = join(base, "data");
  // A Postgres of the test cluster: an embedded one would die with serve's process tree only partly.
  const { url: databaseUrl } = await testDatabase("serve_crash");
  const env = { HOME: join(base, "home"), XDG_CONFIG_HOME: join(base, "config"), DATABASE_URL: databaseUrl, REACTORCIDE_MASTER_KEY: "", REACTORCIDE_URL: "", REACTORCIDE_TOKEN: "", NODE_ENV: "production" };
  const runnerPath = join(mkdtempSync(join(tmpdir(), "rc-crash-bin-")), "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  chmodSync(runnerPath, 0o755);
  const flags = ["serve", "--data-dir", dataDir, "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--runtime", "process", "--runner-path", runnerPath, "--lease-seconds", "2"];
  const start = async () => {
    const s = await startServe([...source, ...flags], env);
    running.push(s);
    return s;
  };
  const first = await start();
  const token = first.adminToken!;
  const call = (s: Served, method: string, path: string, body?: unknown) =>
    fetch(s.url + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect((await call(first, "POST", "/api/v1/projects", { name: "crash", default_image: "busybox" })).status).toBe(201);
  const secret = "crash-Deploy-Token-51z";
  expect((await call(first, "PUT", "/api/v1/projects/crash/secrets/DEPLOY_TOKEN", { value: secret })).status).toBeLessThan(300);
  const job = (await (await call(first, "POST", "/api/v1/jobs", { name: "deploy", project: "crash", command: "echo started; sleep 20", secrets: ["DEPLOY_TOKEN"] })).json()) as { id: string };
  const workspace = join(dataDir, "workspaces", job.id);
  const deadline = Date.now() + 30_000;
  while (!(await (await call(first, "GET", `/api/v1/jobs/${job.id}/logs`)).text()).includes("started")) {
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(50);
  }
  // The premise: while it runs, the secret is on disk for the runner.
  expect(readFileSync(join(workspace, "job.env"), "utf8")).toContain(secret);

  first.proc.kill("SIGKILL");
  await first.proc.exited;
  const second = await start();
  let ended: { status: string; reason: string } | undefined;
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const now = (await (await call(second, "GET", `/api/v1/jobs/${job.id}`)).json()) as { status: string; reason: string };
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
  const log = await (await call(second, "GET", `/api/v1/jobs/${job.id}/logs`)).text();
  expect(log).toContain("started\n");
  expect(log.trimEnd().split("\n").at(-1)).toStartWith("[reactorcide] error: the worker running this job stopped responding");
  expect(await second.stop()).toBe(0);
}, 180_000);
