import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { notificationDeliveries, workflowRuns } from "../../schema/app/index.ts";
import { appendLogs, insertJob, transitionJob, type Job } from "../jobs/store.ts";
import { testApi } from "../testing/api.ts";
import { jobView } from "../jobs/view.ts";
import { endedOfJobView, endedOfRun } from "./ended.ts";
import { nextDueInMs, pruneFinished, recordEnded } from "./outbox.ts";
import { subscribeToJobEnds, subscribeToWorkflowRuns } from "./subscribe.ts";
import { startHookReceiver, startSmtpReceiver } from "./testing/receivers.ts";

/**
 * Notifications end to end against real peers: rules made through the API, ends recorded in the
 * outbox as the job service's and workflow engine's events do, the dispatcher sending to a real
 * SMTP server (STARTTLS, AUTH; messages parsed with mailparser) and to an HTTP receiver that
 * verifies the signature with @octokit/webhooks-methods.
 */

const HOOK_SECRET = "hook-secret-0123456789";
const LEAKED = "s3cr3t-deploy-key-value";

let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
let api: Awaited<ReturnType<typeof testApi>>;
let projectId: string;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  api = await testApi(
    {},
    {
      mail: { url: smtp.url, from: "Reactorcide CI <ci@reactorcide.test>" },
      publicUrl: "https://ci.example.test",
      retry: { firstDelayMs: 150, maxDelayMs: 600, giveUpMs: 24 * 60 * 60_000 },
      idleMs: 200,
    },
  );
  projectId = (await api.call("POST", "/api/v1/projects", { body: { name: "notify", default_image: "busybox" } })).json.id;
  await api.call("PUT", "/api/v1/projects/notify/secrets/DEPLOY_KEY", { body: { value: LEAKED } });
  // The job service's durable "job ended" events, handed over with drain() (the bus is not started in API tests).
  subscribeToJobEnds(api.jobs.events);
  await api.jobs.events.drain();
  await api.deps.notifier.start();
});
afterAll(async () => {
  await api?.close();
  await smtp?.close();
});

let serial = 0;
/** A job that ran and ended with `status`, its log holding `lines`; its "job ended" event handed to the notifications subscriber. */
async function endJob(status: "success" | "failure", options: { name?: string; branch?: string; lines?: string[]; event?: string } = {}): Promise<Job> {
  const env: Record<string, string> = { REACTORCIDE_SHA: `c0ffee${String(++serial).padStart(34, "0")}` };
  if (options.branch) env.REACTORCIDE_BRANCH = options.branch;
  if (options.event) env.REACTORCIDE_EVENT_TYPE = options.event;
  const [admin] = await api.sql`SELECT id FROM users WHERE name = 'admin'`;
  const job = await insertJob(api.db, { projectId, name: options.name ?? "build", command: "make", image: "busybox", env, submittedBy: admin!.id });
  await transitionJob(api.db, job.id, "running");
  await appendLogs(api.db, job.id, (options.lines ?? ["compiling", "done"]).map((line) => ({ line })));
  const ended = await transitionJob(api.db, job.id, status, { exitCode: status === "success" ? 0 : 2, reason: status === "success" ? null : "exit code 2" });
  if (!ended.ok) throw new Error("transition refused");
  await api.jobs.events.drain();
  return ended.job;
}

async function rule(body: Record<string, unknown>): Promise<string> {
  const r = await api.call("POST", "/api/v1/projects/notify/notifications", { body });
  expect(r.status).toBe(201);
  return r.json.id;
}
const deleteRule = (id: string) => api.call("DELETE", `/api/v1/projects/notify/notifications/${id}`);

async function deliveriesOf(ruleId: string) {
  return api.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.ruleId, ruleId));
}

async function settled(ruleId: string, count: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await deliveriesOf(ruleId);
    if (rows.length >= count && rows.every((r) => r.state !== "pending")) return rows;
    if (Date.now() > deadline) throw new Error(`deliveries of ${ruleId} did not settle: ${JSON.stringify(rows.map((r) => [r.state, r.lastError]))}`);
    await Bun.sleep(50);
  }
}

describe("notification rules through the API", () => {
  test("a webhook rule shows neither its secret nor its URL's path; an e-mail rule its recipients", async () => {
    const hook = await api.call("POST", "/api/v1/projects/notify/notifications", {
      body: { on: "always", target: { type: "webhook", url: "https://hooks.slack.test/services/T000/B000/XXXXSECRETPATH", secret: HOOK_SECRET } },
    });
    expect(hook.status).toBe(201);
    expect(hook.json.target).toEqual({ type: "webhook", url: "https://hooks.slack.test/…", has_secret: true });
    const mail = await rule({ target: { type: "email", to: ["Dev@Example.com"] }, branches: ["main"] });
    const list = await api.call("GET", "/api/v1/projects/notify/notifications");
    expect(list.text).not.toContain(HOOK_SECRET);
    expect(list.text).not.toContain("XXXXSECRETPATH");
    const byId = new Map(list.json.notifications.map((n: { id: string }) => [n.id, n]));
    expect(byId.get(mail)).toMatchObject({ on: "failure", jobs: false, branches: ["main"], events: [], target: { type: "email", to: ["dev@example.com"] }, last_deliveries: [], failing: false });
    // Sealed in the database too, not only hidden by the API.
    const raw = await api.sql`SELECT * FROM notification_rules WHERE id = ${hook.json.id}`;
    expect(JSON.stringify(raw)).not.toContain(HOOK_SECRET);
    expect(JSON.stringify(raw)).not.toContain("XXXXSECRETPATH");
    expect((await deleteRule(hook.json.id)).json).toEqual({ id: hook.json.id, deleted: true });
    expect((await deleteRule(mail)).status).toBe(200);
    expect((await deleteRule(mail)).status).toBe(404);
  });
});

describe("e-mail", () => {
  test("a failed job is mailed over STARTTLS with AUTH: text and HTML parts, job status and duration, link, masked log tail", async () => {
    const id = await rule({ jobs: true, target: { type: "email", to: ["dev@example.com", "ops@example.com"] } });
    const before = smtp.received.length;
    const job = await endJob("failure", { branch: "main", event: "push", lines: ["step 1 ok", `token is ${LEAKED}`, "FAIL: expected 2, got 3"] });
    const { mail, rcpt, secure, user } = await smtp.next(before + 1);
    const [delivery] = await settled(id, 1);
    expect(delivery!.state).toBe("delivered");
    expect({ secure, user, rcpt: rcpt.sort() }).toEqual({ secure: true, user: "ci", rcpt: ["dev@example.com", "ops@example.com"] });
    expect(mail.from?.text).toBe('"Reactorcide CI" <ci@reactorcide.test>');
    expect(mail.subject).toBe(`[notify] job build failed on main (${job.env.REACTORCIDE_SHA!.slice(0, 12)})`);
    expect(mail.messageId).toBe(`<${delivery!.id}@reactorcide>`);
    expect(mail.headers.get("x-reactorcide-delivery")).toBe(delivery!.id);
    for (const part of [mail.text!, mail.html as string]) {
      expect(part).toContain("notify");
      expect(part).toContain(job.env.REACTORCIDE_SHA!);
      expect(part).toContain("main");
      expect(part).toContain("admin"); // who submitted it
      expect(part).toContain("FAIL: expected 2, got 3");
      expect(part).toContain(`https://ci.example.test/jobs/${job.id}`);
      expect(part).toContain("token is ***");
      expect(part).not.toContain(LEAKED);
    }
    expect(mail.text).toMatch(/build\s+failure\s+\d/);
    await deleteRule(id);
  });

  test("hostile branch names: no header is smuggled into the mail, no @channel or link into the chat text", async () => {
    const id = await rule({ on: "always", jobs: true, target: { type: "email", to: ["dev@example.com"] } });
    const hook = await startHookReceiver(HOOK_SECRET);
    const hookRule = await rule({ on: "always", jobs: true, target: { type: "webhook", url: hook.url } });
    const before = smtp.received.length;
    await endJob("failure", { name: "evil", branch: "main\r\nBcc: eve@evil.test\r\nX-Evil: 1 <!channel> <https://evil.test|click>" });
    const { mail, rcpt } = await smtp.next(before + 1);
    expect(rcpt).toEqual(["dev@example.com"]);
    expect(mail.bcc).toBeUndefined();
    expect(mail.headers.has("x-evil")).toBe(false);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.html as string).not.toContain("<https://evil.test");
    const [got] = await hook.waitFor(1);
    expect(got!.json.text).not.toContain("<!channel>");
    expect(got!.json.text).not.toContain("<https://evil.test");
    expect(got!.json.text).toContain("&lt;!channel&gt;");
    await deleteRule(id);
    await deleteRule(hookRule);
    await hook.stop();
  });

  test("a rule's test endpoint mails a sample at once", async () => {
    const id = await rule({ target: { type: "email", to: ["dev@example.com"] } });
    const before = smtp.received.length;
    const r = await api.call("POST", `/api/v1/projects/notify/notifications/${id}/test`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ state: "delivered", error: null });
    const { mail } = await smtp.next(before + 1);
    expect(mail.subject).toStartWith("[test] [notify] workflow notification-test failed");
    expect(mail.text).toContain("This is a test notification");
    await deleteRule(id);
  });
});

describe("webhooks", () => {
  test("a failed workflow run: signed JSON with event, project, run, jobs, links, delivery id and a Slack text", async () => {
    const hook = await startHookReceiver(HOOK_SECRET);
    const id = await rule({ target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    const [run] = await api.db
      .insert(workflowRuns)
      .values({ projectId, name: "ci", status: "running", event: "push", ref: "refs/heads/main", commitSha: "abcdef1234567890abcdef1234567890abcdef12" })
      .returning();
    const lint = await insertJob(api.db, { projectId, name: "lint", command: "true", image: "busybox", workflowRunId: run!.id });
    const unit = await insertJob(api.db, { projectId, name: "unit", command: "false", image: "busybox", workflowRunId: run!.id });
    for (const [job, status] of [[lint, "success"], [unit, "failure"]] as const) {
      await transitionJob(api.db, job.id, "running");
      await appendLogs(api.db, job.id, [{ line: `${job.name} says ${LEAKED}` }, { line: `${job.name} done` }]);
      await transitionJob(api.db, job.id, status);
    }
    const [ended] = await api.db.update(workflowRuns).set({ status: "failure", finishedAt: new Date() }).where(eq(workflowRuns.id, run!.id)).returning();
    await api.db.transaction((tx) => recordEnded(tx, endedOfRun(ended!)));
    const [got] = await hook.waitFor(1);
    const [delivery] = await settled(id, 1);
    expect(got!.verified).toBe(true);
    expect(got!.headers.get("x-reactorcide-delivery")).toBe(delivery!.id);
    expect(got!.headers.get("x-reactorcide-event")).toBe("workflow_run.ended");
    expect(got!.json).toMatchObject({
      event: "workflow_run.ended",
      delivery_id: delivery!.id,
      status: "failure",
      fixed: false,
      project: { id: projectId, name: "notify" },
      run: { kind: "workflow_run", id: run!.id, name: "ci", status: "failure", event: "push", branch: "main", commit: "abcdef1234567890abcdef1234567890abcdef12" },
      links: { run: `https://ci.example.test/workflows/${run!.id}`, project: "https://ci.example.test/projects/notify" },
    });
    expect(got!.json.jobs.map((j: { name: string; status: string }) => [j.name, j.status])).toEqual([["lint", "success"], ["unit", "failure"]]);
    expect(got!.json.jobs[0].log_tail).toBeUndefined();
    expect(got!.json.jobs[1].log_tail).toEqual(["unit says ***", "unit done"]);
    expect(got!.json.text).toStartWith(":x: *notify* workflow ci failed on `main` (abcdef123456)");
    expect(got!.json.text).toContain(`<https://ci.example.test/workflows/${run!.id}|open>`);
    expect(got!.body).not.toContain(LEAKED);
    await deleteRule(id);
    await hook.stop();
  });

  test("on fixed: only the first success after a failure on the same branch and workflow", async () => {
    const hook = await startHookReceiver(HOOK_SECRET);
    const id = await rule({ on: "fixed", jobs: true, target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    await endJob("success", { name: "deploy", branch: "main" }); // nothing failed before
    await endJob("failure", { name: "deploy", branch: "main" });
    await endJob("success", { name: "deploy", branch: "feature/x" }); // another branch
    await endJob("success", { name: "other", branch: "main" }); // another job
    const fixedJob = await endJob("success", { name: "deploy", branch: "main" }); // fixed
    await endJob("success", { name: "deploy", branch: "main" }); // still fine: not fixed again
    await settled(id, 1);
    await Bun.sleep(300);
    expect(hook.received.map((h) => h.json.run.id)).toEqual([fixedJob.id]);
    expect(hook.received[0]!.json).toMatchObject({ status: "success", fixed: true });
    expect(hook.received[0]!.json.text).toStartWith(":white_check_mark: *notify* job deploy is fixed on `main`");
    await deleteRule(id);
    await hook.stop();
  });

  test("on always, branch globs and events: fires for every end that passes the filters", async () => {
    const hook = await startHookReceiver(HOOK_SECRET);
    const id = await rule({ on: "always", jobs: true, branches: ["release/**", "!release/old/*"], events: ["push"], target: { type: "webhook", url: hook.url } });
    const a = await endJob("success", { name: "rel", branch: "release/1.2", event: "push" });
    const b = await endJob("failure", { name: "rel", branch: "release/1.2/hotfix", event: "push" });
    await endJob("failure", { name: "rel", branch: "release/old/1.0", event: "push" }); // excluded
    await endJob("failure", { name: "rel", branch: "main", event: "push" }); // no glob matches
    await endJob("failure", { name: "rel", branch: "release/1.3", event: "pull_request_opened" }); // other event
    await endJob("failure", { name: "rel", event: "push" }); // no branch
    await settled(id, 2);
    await Bun.sleep(300);
    expect(hook.received.map((h) => [h.json.run.id, h.json.status])).toEqual([
      [a.id, "success"],
      [b.id, "failure"],
    ]);
    // Without a secret the body goes unsigned.
    expect(hook.received[0]!.headers.get("x-reactorcide-signature-256")).toBeNull();
    await deleteRule(id);
    await hook.stop();
  });

  test("a job that ends on its own is not reported by a rule without `jobs: true`", async () => {
    const hook = await startHookReceiver(HOOK_SECRET);
    const id = await rule({ on: "always", target: { type: "webhook", url: hook.url } });
    await endJob("failure", { name: "alone" });
    await Bun.sleep(300);
    expect(await deliveriesOf(id)).toEqual([]);
    expect(hook.received).toEqual([]);
    await deleteRule(id);
    await hook.stop();
  });

  test("receiver down, then answering 503, then up: retried with backoff, delivered once, failures visible meanwhile", async () => {
    const hook = await startHookReceiver(HOOK_SECRET, { down: true });
    const id = await rule({ jobs: true, target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    const job = await endJob("failure", { name: "flaky" });
    // The first attempts find nobody listening.
    for (let i = 0; ; i++) {
      const [d] = await deliveriesOf(id);
      if (d && d.attempts >= 2) break;
      if (i > 200) throw new Error("no retries happened");
      await Bun.sleep(25);
    }
    const listed = await api.call("GET", "/api/v1/projects/notify/notifications");
    const shown = listed.json.notifications.find((n: { id: string }) => n.id === id);
    expect(shown.failing).toBe(true);
    expect(shown.last_deliveries[0]).toMatchObject({ subject: "job", subject_id: job.id, state: "pending", status: "failure" });
    expect(shown.last_deliveries[0].last_error).toContain("POST http://127.0.0.1");
    hook.failNext(1);
    hook.listen();
    const [d] = await settled(id, 1);
    expect(d!.state).toBe("delivered");
    expect(d!.attempts).toBeGreaterThanOrEqual(3);
    await Bun.sleep(300);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.verified).toBe(true);
    expect(hook.received[0]!.json.delivery_id).toBe(d!.id);
    const after = await api.call("GET", "/api/v1/projects/notify/notifications");
    expect(after.json.notifications.find((n: { id: string }) => n.id === id)).toMatchObject({ failing: false, last_deliveries: [{ state: "delivered", last_error: null }] });
    const metrics = await api.call("GET", "/metrics", { token: null });
    expect(metrics.text).toMatch(/reactorcide_notification_deliveries\{state="delivered"\} [1-9]/);
    expect(metrics.text).toContain('reactorcide_notification_deliveries{state="retrying"}');
    await deleteRule(id);
    await hook.stop();
  });

  test("at most once per event and target: the same end recorded twice, two dispatchers at once", async () => {
    const hook = await startHookReceiver(HOOK_SECRET);
    const id = await rule({ jobs: true, target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    await api.deps.notifier.stop();
    try {
      const job = await endJob("failure", { name: "twice" });
      expect(await api.db.transaction((tx) => recordEnded(tx, endedOfJobView(jobView(job), new Date())!))).toBe(0);
      const { Notifier } = await import("./dispatcher.ts");
      const other = new Notifier({ db: api.db, sql: api.sql, archive: api.deps.archive, keys: [api.deps.key], publicUrl: "https://ci.example.test", mail: { from: "x@y" } });
      await Promise.all([api.deps.notifier.runOnce(), other.runOnce(), api.deps.notifier.runOnce(), other.runOnce()]);
      await settled(id, 1);
      expect(hook.received).toHaveLength(1);
    } finally {
      await api.deps.notifier.start();
    }
    await deleteRule(id);
    await hook.stop();
  });

  test("a delivery that keeps failing is given up after its time and shown failed", async () => {
    const { Notifier } = await import("./dispatcher.ts");
    const quick = new Notifier({
      db: api.db,
      sql: api.sql,
      archive: api.deps.archive,
      keys: [api.deps.key],
      publicUrl: "https://ci.example.test",
      mail: { from: "x@y" },
      retry: { firstDelayMs: 50, maxDelayMs: 100, giveUpMs: 400 },
    });
    const hook = await startHookReceiver(HOOK_SECRET);
    hook.failNext(1_000_000);
    const id = await rule({ jobs: true, target: { type: "webhook", url: hook.url } });
    await api.deps.notifier.stop();
    try {
      await endJob("failure", { name: "doomed" });
      const deadline = Date.now() + 10_000;
      while ((await deliveriesOf(id))[0]?.state !== "failed" && Date.now() < deadline) {
        await quick.runOnce();
        await Bun.sleep(60);
      }
    } finally {
      await api.deps.notifier.start();
    }
    const listed = await api.call("GET", "/api/v1/projects/notify/notifications");
    const shown = listed.json.notifications.find((n: { id: string }) => n.id === id);
    expect(shown.failing).toBe(true);
    expect(shown.last_deliveries[0].state).toBe("failed");
    expect(shown.last_deliveries[0].last_error).toBe("the receiver answered HTTP 503: receiver is busy");
    expect(hook.received).toHaveLength(0);
    await deleteRule(id);
    await hook.stop();
  });

  test("test endpoint: 200 when the sample arrived, 202 with the error when the receiver is down (then retried)", async () => {
    const hook = await startHookReceiver(HOOK_SECRET, { down: true });
    const id = await rule({ on: "always", target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    const down = await api.call("POST", `/api/v1/projects/notify/notifications/${id}/test`);
    expect(down.status).toBe(202);
    expect(down.json.state).toBe("pending");
    expect(down.json.error).toContain("POST http://127.0.0.1");
    hook.listen();
    const [got] = await hook.waitFor(1);
    expect(got!.verified).toBe(true);
    expect(got!.json).toMatchObject({ event: "test", delivery_id: down.json.delivery_id, project: { name: "notify" } });
    const up = await api.call("POST", `/api/v1/projects/notify/notifications/${id}/test`);
    expect(up.status).toBe(200);
    expect(up.json.state).toBe("delivered");
    await deleteRule(id);
    await hook.stop();
  });

  test("delivered and failed deliveries older than 30 days are pruned; pending ones stay", async () => {
    const id = await rule({ jobs: true, target: { type: "webhook", url: "https://unreachable.invalid/hook" } });
    await api.deps.notifier.stop();
    try {
      const done = await endJob("failure", { name: "old-done" });
      const waiting = await endJob("failure", { name: "old-waiting" });
      await api.sql`UPDATE notification_deliveries SET created_at = now() - interval '31 days', state = CASE WHEN subject_id = ${done.id} THEN 'delivered' ELSE 'pending' END WHERE rule_id = ${id}`;
      expect(await pruneFinished(api.db)).toBe(1);
      expect((await deliveriesOf(id)).map((d) => d.subjectId)).toEqual([waiting.id]);
    } finally {
      await deleteRule(id);
      await api.deps.notifier.start();
    }
  });

  test("with no delivery pending nothing is due (the dispatcher sleeps until woken); a pending one is due at its time", async () => {
    await api.deps.notifier.stop();
    try {
      await api.sql`UPDATE notification_deliveries SET state = 'failed' WHERE state = 'pending'`;
      expect(await nextDueInMs(api.db)).toBeUndefined();
      const id = await rule({ jobs: true, target: { type: "webhook", url: "https://unreachable.invalid/hook" } });
      await endJob("failure", { name: "due-later" });
      await api.sql`UPDATE notification_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE rule_id = ${id}`;
      const due = await nextDueInMs(api.db);
      expect(due).toBeGreaterThan(3_500_000);
      expect(due).toBeLessThanOrEqual(3_600_000);
      await api.sql`UPDATE notification_deliveries SET next_attempt_at = now() - interval '1 minute' WHERE rule_id = ${id}`;
      expect(await nextDueInMs(api.db)).toBe(0);
      await deleteRule(id);
    } finally {
      await api.deps.notifier.start();
    }
  });
});

describe("workflow runs through the engine's durable events", () => {
  test("a run that fails is posted once; the next green run on the branch is `fixed`; the engine's jobs are not reported alone", async () => {
    const hook = await startHookReceiver(HOOK_SECRET);
    const failing = await rule({ jobs: true, target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    const fixed = await rule({ on: "fixed", target: { type: "webhook", url: hook.url, secret: HOOK_SECRET } });
    const unsubscribe = subscribeToWorkflowRuns(api.db, api.workflows.events);
    const worker = await api.tokenFor("notify-worker", { worker: true });
    const internal = (path: string, body: unknown) => api.call("POST", `/api/v1/internal${path}`, { token: worker, body });
    const workflow = { name: "pipeline", jobs: { compile: { command: "make" }, check: { needs: ["compile"], command: "make check" } } };
    /** Submits the workflow and plays the worker for each queued job until the run ends. */
    async function run(fail: string[]): Promise<string> {
      const r = await api.call("POST", "/api/v1/workflows", { body: { project: "notify", workflow, branch: "main", sha: "feedface" } });
      expect(r.status).toBe(201);
      for (let i = 0; i < 20; i++) {
        const shown = (await api.call("GET", `/api/v1/workflows/${r.json.id}`)).json;
        if (shown.status !== "running") return r.json.id;
        for (const node of shown.nodes.filter((n: { status: string }) => n.status === "queued")) {
          await internal(`/jobs/${node.job_id}/status`, { status: "running", worker_id: "w1" });
          await internal(`/jobs/${node.job_id}/logs`, { lines: [{ line: `${node.name}: working` }, { line: `${node.name}: ${fail.includes(node.name) ? "broken" : "fine"}` }] });
          const status = fail.includes(node.name) ? "failure" : "success";
          await internal(`/jobs/${node.job_id}/status`, { status, exit_code: status === "success" ? 0 : 1 });
          // The job-ended event advances the run (workflow-advance subscriber); the bus is not started in API tests.
          await api.jobs.events.drain();
        }
        // The run's jobs' own "job ended" events reach the subscriber too; a run's job is not reported alone.
        await api.jobs.events.drain();
      }
      throw new Error("the run did not end");
    }
    try {
      const red = await run(["check"]);
      const [first] = await hook.waitFor(1);
      expect(first!.verified).toBe(true);
      expect(first!.json).toMatchObject({ event: "workflow_run.ended", status: "failure", run: { id: red, name: "pipeline", branch: "main", commit: "feedface", actor: "admin" } });
      expect(first!.json.jobs.map((j: { name: string; status: string }) => [j.name, j.status])).toEqual([["compile", "success"], ["check", "failure"]]);
      expect(first!.json.jobs[1].log_tail).toEqual(["check: working", "check: broken"]);
      const green = await run([]);
      const [, second] = await hook.waitFor(2);
      expect(second!.json).toMatchObject({ status: "success", fixed: true, run: { id: green } });
      await Bun.sleep(1500);
      // Two runs, two notifications: the failing rule's for the red run, the fixed rule's for the green one; no job alone.
      expect(hook.received.map((h) => [h.json.run.id, h.json.status])).toEqual([
        [red, "failure"],
        [green, "success"],
      ]);
    } finally {
      unsubscribe();
      await deleteRule(failing);
      await deleteRule(fixed);
      await hook.stop();
    }
  });
});
