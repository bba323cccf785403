/**
 * kill -9 of a worker process while its chunks are in flight: a real `reactorcide serve
 * --no-worker` and `reactorcide worker` processes (process runtime), a job printing numbered
 * lines as fast as shipping takes them. The log the coordinator keeps is exactly the job's first
 * lines, 1 to k in order with none doubled or missing (a chunk cut off mid-request is not stored
 * at all, one stored is stored once), and after the lease a second worker ends the job, error,
 * with the line saying why as the log's last.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../../runner/testing/binary.ts";
import { crashableServe } from "../../testing/crash-serve.ts";

const mainTs = join(import.meta.dir, "..", "..", "main.ts");
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("a worker killed with SIGKILL mid-chunk: the stored log is the job's first lines exactly, then why it ended", async () => {
  const bin = mkdtempSync(join(tmpdir(), "rc-killship-"));
  cleanups.push(() => rmSync(bin, { recursive: true, force: true }));
  const runnerPath = join(bin, "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  chmodSync(runnerPath, 0o755);
  const d = await crashableServe("logs_worker_kill", { flags: ["--no-worker"] });
  cleanups.push(() => d.close());
  const served = await d.start();
  const queue = /corndogs listening on (\S+)/.exec(served.output())![1]!;
  expect((await d.call("POST", "/api/v1/projects", { name: "ship", default_image: "busybox" })).status).toBe(201);
  const token = (await d.call("POST", "/api/v1/tokens", { name: "ship-worker", worker: true })).json.token as string;
  const worker = () => {
    const proc = Bun.spawn(
      [
        process.execPath, mainTs, "worker", "--coordinator", served.url, "--token", token, "--queue", queue,
        "--runtime", "process", "--runner-path", runnerPath, "--workspace-root", bin, "--concurrency", "1", "--lease-seconds", "2",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    cleanups.push(() => void proc.kill("SIGKILL"));
    return proc;
  };

  const doomed = worker();
  const job = (await d.call("POST", "/api/v1/jobs", { name: "numbers", project: "ship", command: "seq 1 50000000" })).json as { id: string };
  // Well into shipping: some chunks stored, the next ones on their way (the job prints faster than they go).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = (await d.call("GET", `/api/v1/jobs/${job.id}`)).json as { log_lines: number; status: string };
    expect(["queued", "running"]).toContain(now.status);
    if (now.log_lines >= 150_000) break;
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(20);
  }
  doomed.kill("SIGKILL");
  await doomed.exited;

  worker();
  let ended: { status: string; reason: string; log_lines: number } | undefined;
  const until = Date.now() + 60_000;
  while (!ended || ["queued", "running"].includes(ended.status)) {
    expect(Date.now()).toBeLessThan(until);
    await Bun.sleep(100);
    ended = (await d.call("GET", `/api/v1/jobs/${job.id}`)).json;
  }
  expect(ended.status).toBe("error");
  expect(ended.reason).toContain("stopped responding");
  const lines = (await d.call("GET", `/api/v1/jobs/${job.id}/logs`)).text.split("\n");
  expect(lines.pop()).toBe("");
  const last = lines.pop()!;
  expect(last).toStartWith("[reactorcide] error: the worker running this job stopped responding");
  // The runner's own first line (the step it starts), then the job's.
  const first = lines.indexOf("1");
  expect(first).toBe(1);
  const output = lines.slice(first);
  expect(output.length).toBeGreaterThanOrEqual(150_000);
  // 1..k exactly: a line lost or doubled anywhere shows as the first place the numbers differ.
  const firstWrong = output.findIndex((line, i) => line !== String(i + 1));
  const around = firstWrong < 0 ? [] : output.slice(Math.max(0, firstWrong - 1), firstWrong + 2);
  expect({ firstWrong, around }).toEqual({ firstWrong: -1, around: [] });
  expect(ended.log_lines).toBe(lines.length + 1);
}, 180_000);
