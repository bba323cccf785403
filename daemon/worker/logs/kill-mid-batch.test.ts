/**
 * kill -9 mid-chunk, of the worker and of the daemon: a real `reactorcide serve --no-worker` and
 * `reactorcide worker` processes (process runtime), a job printing numbered lines as fast as
 * shipping takes them.
 * - The worker killed: the log the coordinator keeps is exactly the job's first lines, 1 to k in
 *   order with none doubled or missing (a chunk cut off mid-request is not stored at all, one
 *   stored is stored once), and after the lease a second worker ends the job, error, with the
 *   line saying why as the log's last.
 * - serve killed and started again on the same ports: the worker sends its chunks again at their
 *   offsets, and the job's whole output is stored, each line once.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../../runner/testing/binary.ts";
import { crashableServe, type CrashableServe } from "../../testing/crash-serve.ts";

const mainTs = join(import.meta.dir, "..", "..", "main.ts");
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The runner's own first line (the step it starts), then the job's numbers: the index of line "1", checked. */
function numbersFrom(lines: string[]): string[] {
  const first = lines.indexOf("1");
  expect(first).toBe(1);
  return lines.slice(first);
}

/** The first place `output` is not 1, 2, 3, ... (a line lost or doubled), with its neighbours. */
function firstWrong(output: string[]) {
  const at = output.findIndex((line, i) => line !== String(i + 1));
  return { at, around: at < 0 ? [] : output.slice(Math.max(0, at - 1), at + 2) };
}

async function setUp(name: string, flags: string[] = []) {
  const bin = mkdtempSync(join(tmpdir(), "rc-killship-"));
  cleanups.push(() => rmSync(bin, { recursive: true, force: true }));
  const runnerPath = join(bin, "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  chmodSync(runnerPath, 0o755);
  const d = await crashableServe(name, { flags: ["--no-worker", ...flags] });
  cleanups.push(() => d.close());
  const served = await d.start();
  const queue = /corndogs listening on (\S+)/.exec(served.output())![1]!;
  expect((await d.call("POST", "/api/v1/projects", { name: "ship", default_image: "busybox" })).status).toBe(201);
  const token = (await d.call("POST", "/api/v1/tokens", { name: "ship-worker", worker: true })).json.token as string;
  const worker = (leaseSeconds: number) => {
    const proc = Bun.spawn(
      [
        process.execPath, mainTs, "worker", "--coordinator", served.url, "--token", token, "--queue", queue,
        "--runtime", "process", "--runner-path", runnerPath, "--workspace-root", bin, "--concurrency", "1", "--lease-seconds", String(leaseSeconds),
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    cleanups.push(() => void proc.kill("SIGKILL"));
    return proc;
  };
  return { d, worker };
}

/** Waits until the job holds at least `lines` lines (it must still be running). */
async function untilLines(d: CrashableServe, jobId: string, lines: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = (await d.call("GET", `/api/v1/jobs/${jobId}`)).json as { log_lines: number; status: string };
    expect(["queued", "running"]).toContain(now.status);
    if (now.log_lines >= lines) return;
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(20);
  }
}

async function untilEnded(d: CrashableServe, jobId: string) {
  const until = Date.now() + 90_000;
  for (;;) {
    const job = (await d.call("GET", `/api/v1/jobs/${jobId}`)).json as { status: string; reason: string; log_lines: number };
    if (!["queued", "running"].includes(job.status)) return job;
    expect(Date.now()).toBeLessThan(until);
    await Bun.sleep(100);
  }
}

async function logLines(d: CrashableServe, jobId: string): Promise<string[]> {
  const lines = (await d.call("GET", `/api/v1/jobs/${jobId}/logs`)).text.split("\n");
  expect(lines.pop()).toBe("");
  return lines;
}

test("a worker killed with SIGKILL mid-chunk: the stored log is the job's first lines exactly, then why it ended", async () => {
  const { d, worker } = await setUp("logs_worker_kill");
  const doomed = worker(2);
  const job = (await d.call("POST", "/api/v1/jobs", { name: "numbers", project: "ship", command: "seq 1 50000000" })).json as { id: string };
  // Well into shipping: some chunks stored, the next ones on their way (the job prints faster than they go).
  await untilLines(d, job.id, 150_000);
  doomed.kill("SIGKILL");
  await doomed.exited;

  worker(2);
  const ended = await untilEnded(d, job.id);
  expect(ended.status).toBe("error");
  expect(ended.reason).toContain("stopped responding");
  const lines = await logLines(d, job.id);
  expect(lines.pop()!).toStartWith("[reactorcide] error: the worker running this job stopped responding");
  const output = numbersFrom(lines);
  expect(output.length).toBeGreaterThanOrEqual(150_000);
  expect(firstWrong(output)).toEqual({ at: -1, around: [] });
  expect(ended.log_lines).toBe(lines.length + 1);
}, 180_000);

/** Ports free now, for a serve that must come back where its worker looks for it. */
async function freePorts(n: number): Promise<number[]> {
  const listeners = Array.from({ length: n }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = listeners.map((l) => l.port);
  for (const l of listeners) l.stop(true);
  return ports;
}

test("serve killed with SIGKILL while a remote worker's chunks are in flight: after its restart every line is stored once", async () => {
  const [port, corndogsPort] = await freePorts(2);
  const { d, worker } = await setUp("logs_serve_kill", ["--port", String(port), "--corndogs-listen", `127.0.0.1:${corndogsPort}`]);
  worker(30);
  const total = 2_000_000;
  const job = (await d.call("POST", "/api/v1/jobs", { name: "numbers", project: "ship", command: `seq 1 ${total}` })).json as { id: string };
  await untilLines(d, job.id, 200_000);
  await d.kill();
  await d.start();
  const ended = await untilEnded(d, job.id);
  expect({ status: ended.status, reason: ended.reason }).toEqual({ status: "success", reason: "the job's command exited 0" });
  const lines = await logLines(d, job.id);
  expect(lines.pop()!).toBe("[reactorcide] success (exit 0): the job's command exited 0");
  const output = numbersFrom(lines);
  // The runner's own last line: the job's clock, which shipping does not run.
  expect(output.pop()!).toMatch(/^✔ numbers: succeeded in [\d.]+ s$/);
  expect(firstWrong(output)).toEqual({ at: -1, around: [] });
  expect(output.length).toBe(total);
  expect(ended.log_lines).toBe(lines.length + 1);
}, 180_000);
