import { afterAll, expect, test } from "bun:test";
import { crashableServe, type CrashableServe } from "../testing/crash-serve.ts";
import { startHookReceiver } from "./testing/receivers.ts";

/**
 * The outbox survives kill -9: a real `reactorcide serve` (from source, on a real Postgres that
 * outlives it, as in a deployment) holds a notification its receiver has not taken, is killed,
 * and the next start delivers it, once, with the same delivery id.
 */

const daemons: CrashableServe[] = [];
afterAll(async () => {
  for (const d of daemons) await d.close();
});

const SECRET = "crash-hook-secret-42";

/** serve --no-worker (daemon/testing/crash-serve.ts) and a receiver that is down until `hook.listen()`. */
async function daemonAndReceiver() {
  const d = await crashableServe("notify_crash", { flags: ["--no-worker"], env: { REACTORCIDE_PUBLIC_URL: "https://ci.example.test" } });
  daemons.push(d);
  const hook = await startHookReceiver(SECRET, { down: true });
  return Object.assign(d, { hook });
}

/** After the restart: exactly one delivery arrives, signed. */
async function deliveredOnce(hook: Awaited<ReturnType<typeof startHookReceiver>>) {
  const [got] = await hook.waitFor(1, 60_000);
  expect(got!.verified).toBe(true);
  // Nothing else comes: the delivery is marked done.
  await Bun.sleep(1500);
  expect(hook.received).toHaveLength(1);
  return got!;
}

test("daemon killed with a notification pending, then restarted: delivered once", async () => {
  const d = await daemonAndReceiver();
  await d.start();
  expect((await d.call("POST", "/api/v1/projects", { name: "crashy" })).status).toBe(201);
  const rule = (await d.call("POST", "/api/v1/projects/crashy/notifications", { on: "always", target: { type: "webhook", url: d.hook.url, secret: SECRET } })).json;
  const pending = await d.call("POST", `/api/v1/projects/crashy/notifications/${rule.id}/test`);
  expect(pending).toMatchObject({ status: 202, json: { state: "pending" } });

  await d.kill();
  d.hook.listen();
  const second = await d.start();
  // The first retry is due about 10 s after the failed attempt.
  const got = await deliveredOnce(d.hook);
  expect(got.headers.get("x-reactorcide-delivery")).toBe(pending.json.delivery_id);
  const listed = (await d.call("GET", "/api/v1/projects/crashy/notifications")).json;
  expect(listed.notifications[0].last_deliveries[0]).toMatchObject({ id: pending.json.delivery_id, state: "delivered", attempts: 2 });
  expect(await second.stop()).toBe(0);
  await d.hook.stop();
}, 120_000);

test("daemon killed right after a workflow run ended, its notification unsent: the restart sends it once", async () => {
  const d = await daemonAndReceiver();
  await d.start();
  await d.call("POST", "/api/v1/projects", { name: "crashwf", default_image: "busybox" });
  const rule = (await d.call("POST", "/api/v1/projects/crashwf/notifications", { target: { type: "webhook", url: d.hook.url, secret: SECRET } })).json;
  const worker = (await d.call("POST", "/api/v1/tokens", { name: "crash-worker", worker: true })).json.token;
  const run = (await d.call("POST", "/api/v1/workflows", { project: "crashwf", workflow: { name: "nightly", jobs: { only: { command: "false" } } }, branch: "main" })).json;
  await d.endJob(worker, run.nodes[0].job_id, "failure");
  // Killed at once: the run's end is recorded; its notification at most pending (the receiver is down).
  await d.kill();
  d.hook.listen();
  const second = await d.start();
  const got = await deliveredOnce(d.hook);
  expect(got.json).toMatchObject({ event: "workflow_run.ended", status: "failure", run: { id: run.id, name: "nightly", branch: "main" } });
  const listed = (await d.call("GET", "/api/v1/projects/crashwf/notifications")).json;
  expect(listed.notifications.find((n: { id: string }) => n.id === rule.id).last_deliveries).toMatchObject([{ subject: "workflow_run", subject_id: run.id, state: "delivered" }]);
  expect(await second.stop()).toBe(0);
  await d.hook.stop();
}, 120_000);

test("daemon killed right after a job ended on its own: the restart sends its notification once", async () => {
  const d = await daemonAndReceiver();
  await d.start();
  await d.call("POST", "/api/v1/projects", { name: "crashjob", default_image: "busybox" });
  await d.call("POST", "/api/v1/projects/crashjob/notifications", { jobs: true, target: { type: "webhook", url: d.hook.url, secret: SECRET } });
  const worker = (await d.call("POST", "/api/v1/tokens", { name: "crash-worker", worker: true })).json.token;
  const job = (await d.call("POST", "/api/v1/jobs", { name: "lonely", command: "false", project: "crashjob" })).json;
  await d.endJob(worker, job.id, "failure");
  await d.kill();
  d.hook.listen();
  const second = await d.start();
  const got = await deliveredOnce(d.hook);
  expect(got.json).toMatchObject({ event: "job.ended", status: "failure", run: { kind: "job", id: job.id, name: "lonely", url: `https://ci.example.test/jobs/${job.id}` } });
  expect(await second.stop()).toBe(0);
  await d.hook.stop();
}, 120_000);
