/**
 * Job events survive kill -9: a real `reactorcide serve` (from source, on a Postgres that outlives
 * it; daemon/testing/crash-serve.ts) dies by its own SIGKILL at the two moments that matter, each
 * hit exactly by a failpoint (daemon/failpoints.ts):
 *   - jobs.ended: a job's end and its "ended" event are committed, nothing handed to a subscriber;
 *   - jobs.event-handled: a subscriber did its work in the delivery's transaction, not committed.
 * The restarted daemon hands the event over and its subscriber (notifications: a webhook on job
 * ends) acts once: the receiver gets exactly one POST, and the database holds one delivery.
 */
import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { crashableServe, type CrashableServe } from "../testing/crash-serve.ts";
import { startHookReceiver } from "../notifications/testing/receivers.ts";

const SECRET = "job-event-crash-secret";
const daemons: CrashableServe[] = [];
const hooks: Awaited<ReturnType<typeof startHookReceiver>>[] = [];
afterAll(async () => {
  for (const d of daemons) await d.close();
  for (const h of hooks) await h.stop();
});

async function setUp(name: string) {
  const d = await crashableServe(name, { flags: ["--no-worker"], env: { REACTORCIDE_PUBLIC_URL: "https://ci.example.test" } });
  daemons.push(d);
  const hook = await startHookReceiver(SECRET);
  hooks.push(hook);
  await d.start();
  expect((await d.call("POST", "/api/v1/projects", { name: "ev", default_image: "busybox" })).status).toBe(201);
  expect((await d.call("POST", "/api/v1/projects/ev/notifications", { jobs: true, on: "always", target: { type: "webhook", url: hook.url, secret: SECRET } })).status).toBe(201);
  const worker = (await d.call("POST", "/api/v1/tokens", { name: "ev-worker", worker: true })).json.token as string;
  return { d, hook, worker };
}

/** Plays the worker: the job runs, then its end is posted; `answer`: what the worker hears before serve dies. */
async function endIntoCrash(d: CrashableServe, worker: string, jobId: string, answer: number | "no answer") {
  expect((await d.call("POST", `/api/v1/internal/jobs/${jobId}/status`, { status: "running", worker_id: "w1" }, worker)).status).toBe(200);
  const heard = await d.call("POST", `/api/v1/internal/jobs/${jobId}/status`, { status: "failure", exit_code: 3 }, worker).then(
    (r) => r.status,
    () => "no answer",
  );
  expect(heard).toBe(answer);
}

async function afterRestart(d: CrashableServe, hook: Awaited<ReturnType<typeof startHookReceiver>>, jobId: string) {
  const second = await d.start();
  const [got] = await hook.waitFor(1, 60_000);
  expect(got!.verified).toBe(true);
  expect(got!.json).toMatchObject({ event: "job.ended", status: "failure", run: { kind: "job", id: jobId } });
  // Nothing more comes: the event was handed over once.
  await Bun.sleep(2000);
  expect(hook.received).toHaveLength(1);
  const sql = postgres(d.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [job] = await sql<{ status: string; exit_code: number }[]>`SELECT status, exit_code FROM jobs WHERE id = ${jobId}`;
    expect(job).toEqual({ status: "failure", exit_code: 3 });
    const events = await sql<{ id: string }[]>`SELECT id FROM job_events WHERE job_id = ${jobId} AND kind = 'ended'`;
    expect(events).toHaveLength(1);
    const handled = await sql<{ subscriber: string }[]>`SELECT subscriber FROM job_event_deliveries WHERE event_id = ${events[0]!.id} ORDER BY subscriber`;
    expect(handled.filter((h) => h.subscriber === "notifications")).toHaveLength(1);
    const sent = await sql<{ state: string }[]>`SELECT state FROM notification_deliveries WHERE subject = 'job' AND subject_id = ${jobId}`;
    expect([...sent]).toEqual([{ state: "delivered" }]);
  } finally {
    await sql.end();
  }
  expect(await second.stop()).toBe(0);
}

test("serve killed after a job's end is committed, before its event is handed over: the restart hands it over once", async () => {
  const { d, hook, worker } = await setUp("jobev_crash_end");
  const job = (await d.call("POST", "/api/v1/jobs", { name: "doomed", command: "false", project: "ev" })).json;
  await d.kill();
  // The same daemon again, now with the failpoint: it dies the moment the end is committed.
  // Dies before answering: the worker would report again, and find the job ended (409).
  await d.startUntilFailpoint("jobs.ended@doomed", () => endIntoCrash(d, worker, job.id, "no answer"));
  expect(hook.received).toHaveLength(0);
  await afterRestart(d, hook, job.id);
}, 180_000);

test("serve killed inside the subscriber's transaction, its work done but not committed: the restart does it again, once", async () => {
  const { d, hook, worker } = await setUp("jobev_crash_sub");
  const job = (await d.call("POST", "/api/v1/jobs", { name: "halfway", command: "false", project: "ev" })).json;
  await d.kill();
  // The end was answered; the subscriber's work runs after it, and dies there.
  await d.startUntilFailpoint("jobs.event-handled@notifications", () => endIntoCrash(d, worker, job.id, 200));
  expect(hook.received).toHaveLength(0);
  await afterRestart(d, hook, job.id);
}, 180_000);
