/**
 * End to end through the real API, the embedded Corndogs server and workers talking HTTP and
 * gRPC, with jobs in real containers of the locally built runner image.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { containerName } from "./runtimes/docker.ts";
import { startTestSystem, type TestSystem } from "./testing/system.ts";

let system: TestSystem;

beforeAll(async () => {
  const image = await ensureRunnerImage();
  system = await startTestSystem({ image });
  await system.addWorker({ runtime: "docker", concurrency: 2, leaseSeconds: 3 });
}, 900_000);

afterAll(async () => {
  await system?.close();
});

/** Reads the SSE stream of `?follow=true` to its `end` event. */
async function followed(jobId: string): Promise<{ lines: string[]; end: { status: string } }> {
  const response = await fetch(`${system.url}/api/v1/jobs/${jobId}/logs?follow=true`, { headers: { authorization: `Bearer ${system.api.admin}` } });
  const text = await response.text();
  const events = text.split("\n\n").filter(Boolean);
  const lines = events.filter((e) => e.includes("event: line")).map((e) => JSON.parse(e.split("data: ")[1]!).line as string);
  const endEvent = events.find((e) => e.includes("event: end"))!;
  return { lines, end: JSON.parse(endEvent.split("data: ")[1]!) };
}

test("a submitted job runs in a container, its secret printed plainly and base64-encoded comes out masked", async () => {
  const secret = "prod-Key-93ab71";
  await system.setSecret("DEPLOY_KEY", secret);
  const job = await system.submit({
    name: "deploy",
    command: 'echo "key=$DEPLOY_KEY env=$STAGE"; printf %s "$DEPLOY_KEY" | base64; echo done',
    env: { STAGE: "prod" },
    secrets: ["DEPLOY_KEY"],
  });
  expect(job.status).toBe("queued");
  const live = followed(job.id);
  const done = await system.waitFor(job.id);
  expect(done.status).toBe("success");
  expect(done.exit_code).toBe(0);
  const { lines, end } = await live;
  expect(end.status).toBe("success");
  const text = await system.logText(job.id);
  for (const output of [text, lines.join("\n")]) {
    expect(output).toContain("key=*** env=prod");
    expect(output).toContain("done");
    expect(output).not.toContain(secret);
    expect(output).not.toContain(Buffer.from(secret).toString("base64"));
  }
}, 120_000);

test("a command of 65,530 characters, as the API allows, runs (it overflowed Docker's env-file line)", async () => {
  const command = `echo long-command-ran; : ${"x".repeat(65_530 - 25)}`;
  const job = await system.submit({ name: "long-command", command });
  const done = await system.waitFor(job.id);
  expect({ status: done.status, reason: done.reason }).toEqual({ status: "success", reason: "the job's command exited 0" });
  expect(await system.logText(job.id)).toContain("long-command-ran");
}, 120_000);

test("a job that runs past its timeout ends timed_out with the reason", async () => {
  const job = await system.submit({ name: "slow", command: "echo start; sleep 60", timeout: 2 });
  const done = await system.waitFor(job.id);
  expect(done.status).toBe("timed_out");
  expect(done.reason).toContain("timed out after 2 s");
  expect(await system.logText(job.id)).toContain("start");
}, 120_000);

test("cancel through the API stops the running container within the grace period", async () => {
  const job = await system.submit({ name: "long", command: "echo started; sleep 300" });
  await system.waitFor(job.id, ["running"]);
  while (!(await system.logText(job.id)).includes("started")) await Bun.sleep(50);
  const cancelled = await system.http("POST", `/api/v1/jobs/${job.id}/cancel`);
  expect(cancelled.status).toBe(200);
  const deadline = Date.now() + 15_000;
  while (Bun.spawnSync(["docker", "inspect", containerName(job.id)], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) {
    expect(Date.now()).toBeLessThan(deadline);
    await Bun.sleep(100);
  }
  expect((await system.job(job.id)).status).toBe("cancelled");
}, 120_000);

test("a worker killed with SIGKILL mid-job: the task comes back after the lease and the job ends once, error", async () => {
  const root = join(import.meta.dir, "..", "..");
  // A separate worker process (the CLI), so it can really die.
  const proc = Bun.spawn(
    [
      process.execPath, join(root, "daemon", "main.ts"), "worker",
      "--coordinator", system.url, "--token", system.workerToken, "--queue", system.corndogs.address,
      "--concurrency", "1", "--lease-seconds", "2", "--runtime", "docker",
    ],
    { stdout: "pipe", stderr: "pipe", env: { ...process.env, REACTORCIDE_DEFAULT_IMAGE: "reactorcide/runner:dev" } },
  );
  // Only the doomed worker may take this job: the in-process worker's slots are kept busy.
  const blockers = await Promise.all([1, 2].map(() => system.submit({ name: "blocker", command: "sleep 20" })));
  for (const b of blockers) await system.waitFor(b.id, ["running"]);
  const job = await system.submit({ name: "orphan", command: "echo alive; sleep 300" });
  const running = await system.waitFor(job.id, ["running"]);
  expect(running.status).toBe("running");
  proc.kill("SIGKILL");
  await proc.exited;
  // The coordinator's sweep: expired leases go back to the queue.
  const sweeper = setInterval(() => void system.queueClient.cleanUpTimedOut({ queue: "reactorcide-jobs" }), 500);
  const done = await system.waitFor(job.id, ["success", "failure", "error", "cancelled", "timed_out"], 90_000);
  clearInterval(sweeper);
  expect(done.status).toBe("error");
  expect(done.reason).toContain("stopped responding");
  // Its container is gone too, and the end is not rewritten later.
  expect(Bun.spawnSync(["docker", "inspect", containerName(job.id)], { stdout: "ignore", stderr: "ignore" }).exitCode).not.toBe(0);
  await Bun.sleep(3000);
  expect((await system.job(job.id)).status).toBe("error");
  for (const b of blockers) await system.waitFor(b.id);
}, 180_000);
