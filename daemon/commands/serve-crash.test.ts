/**
 * kill -9 of `reactorcide serve` while a job with a secret runs, then a restart: recovery ends the
 * job once, removes what the dead run left on disk (the workspace and its job.env holding the
 * secret), its runner (which has its own process group and outlives serve, running the ended job
 * on) and the runner's temp dir (its secrets socket), and the job's log says why it ended.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { crashableServe, type CrashableServe } from "../testing/crash-serve.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** Pids of the processes whose command line (its arguments joined by NUL) passes `test`. */
function processes(test: (cmdline: string) => boolean): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (test(readFileSync(`/proc/${name}/cmdline`, "utf8"))) found.push(Number(name));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

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
  // The mark names the job's own shell among the machine's processes.
  const mark = `crash-mark-${process.pid}-${Date.now()}`;
  const command = `echo "started socket=$REACTORCIDE_SECRETS_SOCKET"; sleep 30; echo "${mark}"`;
  const job = (await d.call("POST", "/api/v1/jobs", { name: "deploy", project: "crash", command, secrets: ["DEPLOY_TOKEN"] })).json as { id: string };
  const workspace = join(d.dataDir, "workspaces", job.id);
  const deadline = Date.now() + 30_000;
  let socket: string | undefined;
  while (!(socket = /^started socket=(\/\S+)$/m.exec((await d.call("GET", `/api/v1/jobs/${job.id}/logs`)).text)?.[1])) {
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(50);
  }
  // The premise: while it runs, the secret is on disk for the runner, its socket is open, and the
  // job's shell runs.
  expect(readFileSync(join(workspace, "job.env"), "utf8")).toContain(secret);
  expect(existsSync(socket)).toBe(true);
  expect(processes((c) => c.includes(mark))).toHaveLength(1);

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
  // The dead run's runner and the job's shell are gone (they ran on: 30 s more, the secret in their
  // environment), and so is the runner's temp dir with the socket's directory in it.
  const left = () => ({ shell: processes((c) => c.includes(mark)), runner: processes((c) => c.startsWith(`${runnerPath}\0`)) });
  const gone = Date.now() + 5_000;
  while (Object.values(left()).flat().length > 0 && Date.now() < gone) await Bun.sleep(50);
  expect(left()).toEqual({ shell: [], runner: [] });
  expect(existsSync(dirname(dirname(socket)))).toBe(false);
  const log = (await d.call("GET", `/api/v1/jobs/${job.id}/logs`)).text;
  expect(log).toContain("started socket=");
  expect(log.trimEnd().split("\n").at(-1)).toStartWith("[reactorcide] error: the worker running this job stopped responding");
  expect(await second.stop()).toBe(0);
}, 180_000);
