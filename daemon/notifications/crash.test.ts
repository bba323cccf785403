import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testDatabase } from "../testing/postgres.ts";
import { startServe, type Served } from "../testing/serve-process.ts";
import { startHookReceiver } from "./testing/receivers.ts";

/**
 * The outbox survives kill -9: a real `reactorcide serve` (from source, on a real Postgres that
 * outlives it, as in a deployment) holds a notification its receiver has not taken, is killed,
 * and the next start delivers it, once, with the same delivery id.
 */

const running: Served[] = [];
afterAll(async () => {
  for (const s of running) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
});

const SECRET = "crash-hook-secret-42";

test("daemon killed with a notification pending, then restarted: delivered once", async () => {
  const base = mkdtempSync(join(tmpdir(), "rc-notify-crash-"));
  chmodSync(base, 0o711);
  const { url: databaseUrl } = await testDatabase("notify_crash");
  const env = {
    HOME: join(base, "home"),
    XDG_CONFIG_HOME: join(base, "config"),
    DATABASE_URL: databaseUrl,
    REACTORCIDE_MASTER_KEY: "",
    REACTORCIDE_PUBLIC_URL: "https://ci.example.test",
    NODE_ENV: "production",
  };
  const argv = [process.execPath, join(import.meta.dir, "..", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--no-worker"];
  const hook = await startHookReceiver(SECRET, { down: true });

  const first = await startServe(argv, env);
  running.push(first);
  const token = first.adminToken!;
  const call = (s: Served, method: string, path: string, body?: unknown) =>
    fetch(s.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  expect((await call(first, "POST", "/api/v1/projects", { name: "crashy" })).status).toBe(201);
  const rule: any = await (await call(first, "POST", "/api/v1/projects/crashy/notifications", { on: "always", target: { type: "webhook", url: hook.url, secret: SECRET } })).json();
  const test1 = await call(first, "POST", `/api/v1/projects/crashy/notifications/${rule.id}/test`);
  expect(test1.status).toBe(202);
  const pending: any = await test1.json();
  expect(pending.state).toBe("pending");

  first.proc.kill("SIGKILL");
  await first.proc.exited;
  hook.listen();

  const second = await startServe(argv, env);
  running.push(second);
  // The first retry is due about 10 s after the failed attempt.
  const [got] = await hook.waitFor(1, 60_000);
  expect(got!.verified).toBe(true);
  expect(got!.headers.get("x-reactorcide-delivery")).toBe(pending.delivery_id);
  const listed: any = await (await call(second, "GET", "/api/v1/projects/crashy/notifications")).json();
  expect(listed.notifications[0].last_deliveries[0]).toMatchObject({ id: pending.delivery_id, state: "delivered", attempts: 2 });
  // Nothing else comes: the delivery is marked done.
  await Bun.sleep(1500);
  expect(hook.received).toHaveLength(1);
  expect(await second.stop()).toBe(0);
  await hook.stop();
}, 120_000);

test("daemon killed right after a workflow run ended, its notification unsent: the restart sends it once", async () => {
  const base = mkdtempSync(join(tmpdir(), "rc-notify-crash-"));
  chmodSync(base, 0o711);
  const { url: databaseUrl } = await testDatabase("notify_crash");
  const env = {
    HOME: join(base, "home"),
    XDG_CONFIG_HOME: join(base, "config"),
    DATABASE_URL: databaseUrl,
    REACTORCIDE_MASTER_KEY: "",
    NODE_ENV: "production",
  };
  const argv = [process.execPath, join(import.meta.dir, "..", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--no-worker"];
  const hook = await startHookReceiver(SECRET, { down: true });
  const first = await startServe(argv, env);
  running.push(first);
  const admin = first.adminToken!;
  const call = async (s: Served, method: string, path: string, body?: unknown, token = admin): Promise<any> => {
    const r = await fetch(s.url + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: await r.json() };
  };
  await call(first, "POST", "/api/v1/projects", { name: "crashwf", default_image: "busybox" });
  const rule = (await call(first, "POST", "/api/v1/projects/crashwf/notifications", { target: { type: "webhook", url: hook.url, secret: SECRET } })).json;
  const worker = (await call(first, "POST", "/api/v1/tokens", { name: "crash-worker", worker: true })).json.token;
  const run = (await call(first, "POST", "/api/v1/workflows", { project: "crashwf", workflow: { name: "nightly", jobs: { only: { command: "false" } } }, branch: "main" })).json;
  const jobId = run.nodes[0].job_id;
  expect((await call(first, "POST", `/api/v1/internal/jobs/${jobId}/status`, { status: "running", worker_id: "w1" }, worker)).status).toBe(200);
  expect((await call(first, "POST", `/api/v1/internal/jobs/${jobId}/status`, { status: "failure", exit_code: 1 }, worker)).status).toBe(200);
  // Killed at once: the run's end is recorded; its notification at most pending (the receiver is down).
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  hook.listen();

  const second = await startServe(argv, env);
  running.push(second);
  const [got] = await hook.waitFor(1, 60_000);
  expect(got!.verified).toBe(true);
  expect(got!.json).toMatchObject({ event: "workflow_run.ended", status: "failure", run: { id: run.id, name: "nightly", branch: "main" } });
  await Bun.sleep(1500);
  expect(hook.received).toHaveLength(1);
  const listed = (await call(second, "GET", "/api/v1/projects/crashwf/notifications")).json;
  expect(listed.notifications.find((n: { id: string }) => n.id === rule.id).last_deliveries).toMatchObject([{ subject: "workflow_run", subject_id: run.id, state: "delivered" }]);
  expect(await second.stop()).toBe(0);
  await hook.stop();
}, 120_000);

test("daemon killed right after a job ended on its own: the restart sends its notification once", async () => {
  const base = mkdtempSync(join(tmpdir(), "rc-notify-crash-"));
  chmodSync(base, 0o711);
  const { url: databaseUrl } = await testDatabase("notify_crash");
  const env = { HOME: join(base, "home"), XDG_CONFIG_HOME: join(base, "config"), DATABASE_URL: databaseUrl, REACTORCIDE_MASTER_KEY: "", NODE_ENV: "production" };
  const argv = [process.execPath, join(import.meta.dir, "..", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--no-worker"];
  const hook = await startHookReceiver(SECRET, { down: true });
  const first = await startServe(argv, env);
  running.push(first);
  const admin = first.adminToken!;
  const call = async (s: Served, method: string, path: string, body?: unknown, token = admin): Promise<any> => {
    const r = await fetch(s.url + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: await r.json() };
  };
  await call(first, "POST", "/api/v1/projects", { name: "crashjob", default_image: "busybox" });
  await call(first, "POST", "/api/v1/projects/crashjob/notifications", { jobs: true, target: { type: "webhook", url: hook.url, secret: SECRET } });
  const worker = (await call(first, "POST", "/api/v1/tokens", { name: "crash-worker", worker: true })).json.token;
  const job = (await call(first, "POST", "/api/v1/jobs", { name: "lonely", command: "false", project: "crashjob" })).json;
  expect((await call(first, "POST", `/api/v1/internal/jobs/${job.id}/status`, { status: "running", worker_id: "w1" }, worker)).status).toBe(200);
  expect((await call(first, "POST", `/api/v1/internal/jobs/${job.id}/status`, { status: "failure", exit_code: 1 }, worker)).status).toBe(200);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  hook.listen();

  const second = await startServe(argv, env);
  running.push(second);
  const [got] = await hook.waitFor(1, 60_000);
  expect(got!.verified).toBe(true);
  expect(got!.json).toMatchObject({ event: "job.ended", status: "failure", run: { kind: "job", id: job.id, name: "lonely" } });
  await Bun.sleep(1500);
  expect(hook.received).toHaveLength(1);
  expect(await second.stop()).toBe(0);
  await hook.stop();
}, 120_000);
