import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testApi } from "../../testing/api.ts";
import type { WorkflowRunEvent } from "../../workflows/events.ts";

/**
 * Workflow runs through the API on a real Postgres. The worker's part (start a job, report its
 * end) goes through the worker endpoints, as a real worker's does.
 */
const CI_YAML = readFileSync(join(import.meta.dir, "..", "..", "..", "jobs", "workflows", "ci.yaml"), "utf8");

let api: Awaited<ReturnType<typeof testApi>>;
let worker: string;
beforeAll(async () => {
  api = await testApi({ workflowLimits: { maxNodes: 12, maxDepth: 3, maxTriggersPerJob: 5 } });
  await api.call("POST", "/api/v1/projects", { body: { name: "wf", default_image: "busybox:1" } });
  await api.call("PUT", "/api/v1/projects/wf/secrets/DEPLOY_KEY", { body: { value: "k-123456" } });
  await api.call("PUT", "/api/v1/projects/wf/secrets/OTHER_KEY", { body: { value: "o-123456" } });
  worker = await api.tokenFor("wf-worker", { worker: true });
});
afterAll(() => api?.close());

type Node = { name: string; status: string; job_id: string | null; reason: string | null; depends_on: string[] };
type Run = { id: string; status: string; nodes: Node[]; name: string };

const submit = (body: Record<string, unknown>) => api.call("POST", "/api/v1/workflows", { body });
const show = async (id: string): Promise<Run> => (await api.call("GET", `/api/v1/workflows/${id}`)).json;
const statuses = (run: Run) => Object.fromEntries(run.nodes.map((n) => [n.name, n.status]));
const internal = (path: string, body: unknown) => api.call("POST", `/api/v1/internal${path}`, { token: worker, body });

/** What a worker does with a job: running, then the end status (whose event advances the run). */
async function runJob(jobId: string, status: "success" | "failure" = "success") {
  expect((await internal(`/jobs/${jobId}/status`, { status: "running", worker_id: "w1" })).status).toBe(200);
  await endJob(jobId, status);
}
async function startJob(jobId: string) {
  expect((await internal(`/jobs/${jobId}/status`, { status: "running", worker_id: "w1" })).status).toBe(200);
}
async function endJob(jobId: string, status: "success" | "failure" = "success") {
  expect((await internal(`/jobs/${jobId}/status`, { status, exit_code: status === "success" ? 0 : 1 })).status).toBe(200);
  // The job-ended event goes to the workflow-advance subscriber (serve's bus does this by itself).
  await api.jobs.events.drain();
}
const jobOf = (run: Run, name: string) => run.nodes.find((n) => n.name === name)!.job_id!;
/** Runs every queued node once (with `fail` failing), until the run ends. */
async function drive(id: string, fail: string[] = []): Promise<Run> {
  for (let i = 0; i < 50; i++) {
    const run = await show(id);
    const queued = run.nodes.filter((n) => n.status === "queued");
    if (queued.length === 0) return run;
    for (const n of queued) await runJob(n.job_id!, fail.includes(n.name) ? "failure" : "success");
  }
  throw new Error("run never settled");
}
const payload = (jobs: unknown[], operation_id: string = crypto.randomUUID()) => ({ type: "trigger_job", operation_id, jobs });

describe("workflow runs from a workflow file", () => {
  test("the example workflow: test and lint first, the build matrix after, deploy on main; the run succeeds", async () => {
    const r = await submit({ project: "wf", workflow: CI_YAML, branch: "main", sha: "abc1234" });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: "ci", status: "running", event: "push", sha: "abc1234" });
    expect(statuses(r.json)).toEqual({ test: "queued", lint: "queued", "build-linux-x64": "waiting", "build-linux-arm64": "waiting", deploy: "waiting" });
    const test = (await api.call("GET", `/api/v1/jobs/${jobOf(r.json, "test")}`)).json;
    // A job of steps carries them; every job sees the event.
    expect(test.steps.map((s: { name: string }) => s.name)).toEqual(["layout", "count-tests", "versions", "license"]);
    expect(test).toMatchObject({ workflow_run_id: r.json.id, image: "busybox:1", env: { REACTORCIDE_BRANCH: "main", REACTORCIDE_SHA: "abc1234", ARTIFACTS: "../artifacts" } });

    await runJob(jobOf(r.json, "test"));
    expect(statuses(await show(r.json.id))["build-linux-x64"]).toBe("waiting");
    await runJob(jobOf(r.json, "lint"));
    const mid = await show(r.json.id);
    expect(statuses(mid)).toMatchObject({ "build-linux-x64": "queued", "build-linux-arm64": "queued", deploy: "waiting" });
    const build = (await api.call("GET", `/api/v1/jobs/${jobOf(mid, "build-linux-arm64")}`)).json;
    expect(build.env.TARGET).toBe("linux-arm64");
    const done = await drive(r.json.id);
    expect(done.status).toBe("success");
    expect(statuses(done)).toEqual({ test: "success", lint: "success", "build-linux-x64": "success", "build-linux-arm64": "success", deploy: "success" });
    expect((await api.call("GET", `/api/v1/workflows/${r.json.id}`)).json.finished_at).not.toBeNull();
  });

  test("off main, deploy is skipped with its reason and the run still succeeds", async () => {
    const r = await submit({ project: "wf", workflow: CI_YAML, branch: "feature/x" });
    const done = await drive(r.json.id);
    expect(done.status).toBe("success");
    expect(done.nodes.find((n) => n.name === "deploy")).toMatchObject({ status: "skipped", reason: "if: env.REACTORCIDE_BRANCH == 'main'", job_id: null });
  });

  test("a failure skips what needs it, runs any_failed and always, fails the run; retry-failed runs them again in the same run", async () => {
    const workflow = {
      jobs: {
        test: { command: "exit 1" },
        build: { needs: ["test"], command: "true" },
        publish: { needs: ["build"], command: "true" },
        "notify-failure": { needs: ["test"], condition: "any_failed", command: "true" },
        report: { needs: ["build"], condition: "always", command: "true" },
      },
    };
    const r = await submit({ project: "wf", workflow });
    expect(r.status).toBe(201);
    const done = await drive(r.json.id, ["test"]);
    expect(done.status).toBe("failure");
    expect(statuses(done)).toEqual({ test: "failure", build: "skipped", publish: "skipped", "notify-failure": "success", report: "success" });
    expect(done.nodes.find((n) => n.name === "build")?.reason).toBe("condition all_success: test failure");
    const oldTest = jobOf(done, "test");

    const again = await api.call("POST", `/api/v1/workflows/${r.json.id}/retry-failed`);
    expect(again.status).toBe(200);
    expect(again.json.status).toBe("running");
    expect(statuses(again.json)).toEqual({ test: "queued", build: "waiting", publish: "waiting", "notify-failure": "waiting", report: "waiting" });
    expect(jobOf(again.json, "test")).not.toBe(oldTest);
    const second = await drive(r.json.id);
    expect(second.status).toBe("success");
    expect(statuses(second)).toEqual({ test: "success", build: "success", publish: "success", "notify-failure": "skipped", report: "success" });
    expect((await api.call("POST", `/api/v1/workflows/${r.json.id}/retry-failed`)).status).toBe(409);

    const fresh = await api.call("POST", `/api/v1/workflows/${r.json.id}/retry`);
    expect(fresh.status).toBe(201);
    expect(fresh.json).toMatchObject({ status: "running", retry_of: r.json.id });
    expect(fresh.json.id).not.toBe(r.json.id);
  });

  test("cancel: waiting nodes cancelled, queued and running jobs stopped; then 409", async () => {
    const r = await submit({ project: "wf", workflow: { jobs: { a: { command: "sleep 100" }, b: { command: "true" }, c: { needs: ["a"], command: "true" } } } });
    await startJob(jobOf(r.json, "a"));
    const c = await api.call("POST", `/api/v1/workflows/${r.json.id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.json.status).toBe("cancelled");
    expect(statuses(c.json)).toEqual({ a: "cancelled", b: "cancelled", c: "cancelled" });
    expect((await api.call("GET", `/api/v1/jobs/${jobOf(r.json, "a")}`)).json.status).toBe("cancelled");
    // The worker's report of the stopped job is refused; the run stays cancelled.
    expect((await internal(`/jobs/${jobOf(r.json, "a")}/status`, { status: "failure", exit_code: 143 })).status).toBe(409);
    expect((await show(r.json.id)).status).toBe("cancelled");
    expect((await api.call("POST", `/api/v1/workflows/${r.json.id}/cancel`)).status).toBe(409);
  });

  test("a bad workflow file is refused naming the field; nothing is created", async () => {
    const before = (await api.call("GET", "/api/v1/workflows?project=wf&limit=200")).json.workflows.length;
    const cases: [unknown, string][] = [
      ["jobs: [", "workflow"],
      [{ jobs: { a: { command: "true", needs: ["ghost"] } } }, "workflow.jobs.a.depends_on"],
      [{ jobs: { a: { command: "true", needs: ["b"] }, b: { command: "true", needs: ["a"] } } }, "workflow.jobs"],
      [{ jobs: { a: { command: "true", colour: "red" } } }, "workflow.jobs.a.colour"],
      [{ jobs: { a: { job_file: "x.yaml" } } }, "workflow.jobs.a.job_file"],
    ];
    for (const [workflow, field] of cases) {
      const r = await submit({ project: "wf", workflow });
      expect({ field, status: r.status, got: r.json.error.field }).toEqual({ field, status: 400, got: field });
    }
    expect((await submit({ project: "wf", workflow: { jobs: { a: { command: "true" } } }, secrets: ["NOPE"] })).json.error.field).toBe("secrets");
    const jobs = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`j${i}`, { command: "true" }]));
    const big = await submit({ project: "wf", workflow: { jobs } });
    expect(big.status).toBe(422);
    expect(big.json.error.message).toContain("at most 12");
    expect((await api.call("GET", "/api/v1/workflows?project=wf&limit=200")).json.workflows.length).toBe(before);
  });

  test("list filters by project and status, pages, and shows nodes", async () => {
    const list = await api.call("GET", "/api/v1/workflows?project=wf&status=success&limit=1");
    expect(list.status).toBe(200);
    expect(list.json.workflows).toHaveLength(1);
    expect(list.json.workflows[0].status).toBe("success");
    expect(list.json.workflows[0].nodes.length).toBeGreaterThan(0);
    expect(list.json.next_offset).toBe(1);
    expect((await api.call("GET", "/api/v1/workflows?status=done")).json.error.field).toBe("status");
  });
});

describe("triggers from a running job", () => {
  async function runningJob(body: Record<string, unknown> = {}) {
    const job = (await api.call("POST", "/api/v1/jobs", { body: { name: "parent", command: "true", project: "wf", ...body } })).json;
    await startJob(job.id);
    const token = (await internal(`/jobs/${job.id}/token`, {})).json.token as string;
    return { job, token };
  }
  const post = (jobId: string, token: string, body: unknown) => api.call("POST", `/api/v1/jobs/${jobId}/triggers`, { token, body });

  test("the same operation by API, triggers.json and a stdout line creates its jobs once; they start after the parent ends", async () => {
    const { job, token } = await runningJob({ secrets: ["DEPLOY_KEY", "OTHER_KEY"] });
    const op = payload([{ job_name: "deploy", job_command: "echo deploy", env: { TARGET: "prod" }, secrets: ["DEPLOY_KEY"] }, { job_name: "notify", job_command: "true", depends_on: ["deploy"], condition: "always" }]);
    const [a, b, c] = await Promise.all([
      post(job.id, token, op),
      internal(`/jobs/${job.id}/triggers`, { via: "file", payload: op }),
      internal(`/jobs/${job.id}/triggers`, { via: "stdout", payload: op }),
    ]);
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect([a, b, c].map((x) => x.json.created.length).sort()).toEqual([0, 0, 2]);
    expect([a, b, c].map((x) => x.json.duplicates).sort()).toEqual([0, 2, 2]);
    const runId = a.json.workflow_run_id as string;
    let run = await show(runId);
    expect(statuses(run)).toEqual({ parent: "running", deploy: "waiting", notify: "waiting" });
    await endJob(job.id, "failure");
    run = await show(runId);
    expect(statuses(run)).toEqual({ parent: "failure", deploy: "queued", notify: "waiting" });
    const deploy = (await api.call("GET", `/api/v1/jobs/${jobOf(run, "deploy")}`)).json;
    // What the trigger passed on may be a secret of the parent: shown as ***, whole only to the worker.
    expect(deploy).toMatchObject({ command: "echo deploy", secrets: ["DEPLOY_KEY"], parent_job_id: job.id, workflow_run_id: runId, env: { TARGET: "***" }, secret_env: ["TARGET"] });
    expect((await api.call("GET", `/api/v1/internal/jobs/${deploy.id}`, { token: worker })).json).toMatchObject({ env: { TARGET: "prod" }, secret_env: ["TARGET"] });
    const events = await api.sql<{ job: { env: Record<string, string> } }[]>`SELECT job FROM job_events WHERE job_id = ${deploy.id}`;
    expect(events.map((e) => e.job.env)).toEqual([{ TARGET: "***" }]);
    const done = await drive(runId);
    expect(statuses(done)).toEqual({ parent: "failure", deploy: "success", notify: "success" });
    expect(done.status).toBe("failure");
    // The job token died with its job.
    expect((await post(job.id, token, payload([{ job_name: "late", job_command: "true" }]))).status).toBe(401);
  });

  test("a job token triggers only for its own job, reads only its own job, and cannot use the rest of the API", async () => {
    const one = await runningJob();
    const two = await runningJob();
    expect((await post(two.job.id, one.token, payload([{ job_name: "x", job_command: "true" }]))).status).toBe(403);
    expect((await api.call("GET", `/api/v1/jobs/${one.job.id}`, { token: one.token })).status).toBe(200);
    expect((await api.call("GET", `/api/v1/jobs/${two.job.id}`, { token: one.token })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/jobs", { token: one.token })).status).toBe(403);
    expect((await api.call("POST", "/api/v1/workflows", { token: one.token, body: { project: "wf", workflow: "jobs: {a: {command: x}}" } })).status).toBe(403);
    // An API token is not a job token.
    expect((await post(one.job.id, api.admin, payload([{ job_name: "x", job_command: "true" }]))).status).toBe(403);
  });

  test("each refusal is 422 with its reason, in the API and in the parent's log, and creates nothing", async () => {
    const { job, token } = await runningJob({ secrets: ["DEPLOY_KEY"] });
    const refusals: [unknown[], string][] = [
      [[{ job_name: "a", job_command: "true", depends_on: ["ghost"] }], 'depends_on names unknown job "ghost"'],
      [[{ job_name: "a", job_command: "true", depends_on: ["b"] }, { job_name: "b", job_command: "true", depends_on: ["a"] }], "dependency cycle"],
      [[{ job_name: "a", job_command: "true", secrets: ["OTHER_KEY"] }], "OTHER_KEY was not given to job parent"],
      [[{ job_name: "ghost" }], 'triggered job "ghost" is not in the workflow and has no job_command'],
      [Array.from({ length: 6 }, (_, i) => ({ job_name: `j${i}`, job_command: "true" })), "one job may trigger at most 5"],
    ];
    for (const [jobs, reason] of refusals) {
      const r = await post(job.id, token, payload(jobs));
      expect({ reason, status: r.status }).toEqual({ reason, status: 422 });
      expect(r.json.error.message).toContain(reason);
    }
    const log = await api.call("GET", `/api/v1/jobs/${job.id}/logs`);
    for (const [, reason] of refusals) expect(log.text).toContain(reason);
    expect(log.text).toContain("trigger refused (api)");
    // Nothing half-written: a good trigger afterwards makes a run of the parent and its one child.
    const ok = await post(job.id, token, payload([{ job_name: "fine", job_command: "true" }]));
    expect(ok.status).toBe(201);
    expect(statuses(await show(ok.json.workflow_run_id))).toEqual({ parent: "running", fine: "waiting" });
  });

  test("trust flows down: a child of an untrusted job is untrusted, and it cannot name the job code its follow-ups run", async () => {
    const { job, token } = await runningJob({ untrusted: true });
    const hostile = await post(job.id, token, payload([{ job_name: "pwn", job_command: "true", ci_source_type: "git", ci_source_url: "https://evil.example/ci.git" }]));
    expect(hostile.status).toBe(422);
    expect(hostile.json.error.field).toBe("jobs[0].ci_source_type");
    const ok = await post(job.id, token, payload([{ job_name: "child", job_command: "true", source_type: "git", source_url: "https://example.com/fork.git" }]));
    expect(ok.status).toBe(201);
    await endJob(job.id);
    const run = await show(ok.json.workflow_run_id);
    const child = (await api.call("GET", `/api/v1/jobs/${jobOf(run, "child")}`)).json;
    expect(child).toMatchObject({ untrusted: true, source: { type: "git", url: "https://example.com/fork.git" } });
  });

  test("a chain of triggers deeper than the limit and a run over the node limit are refused", async () => {
    // Depth: each generation's job triggers the next; the limit is 3.
    let { job, token } = await runningJob();
    let runId = "";
    for (let depth = 1; depth <= 4; depth++) {
      const r = await post(job.id, token, payload([{ job_name: `gen${depth}`, job_command: "true" }]));
      if (depth === 4) {
        expect(r.status).toBe(422);
        expect(r.json.error.message).toContain("4 deep; at most 3");
        break;
      }
      expect(r.status).toBe(201);
      runId = r.json.workflow_run_id;
      await endJob(job.id);
      const child = jobOf(await show(runId), `gen${depth}`);
      await startJob(child);
      job = { id: child };
      token = (await internal(`/jobs/${child}/token`, {})).json.token;
    }
    // Nodes (limit 12): a parent and 5 children, 5 grandchildren of the first: 11; two more are refused.
    const top = await runningJob();
    const five = (prefix: string) => payload(Array.from({ length: 5 }, (_, i) => ({ job_name: `${prefix}${i}`, job_command: "true" })));
    const first = await post(top.job.id, top.token, five("c"));
    expect(first.status).toBe(201);
    await endJob(top.job.id);
    const kids = await show(first.json.workflow_run_id);
    const [c0, c1] = [jobOf(kids, "c0"), jobOf(kids, "c1")];
    await startJob(c0);
    await startJob(c1);
    const t0 = (await internal(`/jobs/${c0}/token`, {})).json.token;
    const t1 = (await internal(`/jobs/${c1}/token`, {})).json.token;
    expect((await post(c0, t0, five("g"))).status).toBe(201);
    const over = await post(c1, t1, payload([{ job_name: "x1", job_command: "true" }, { job_name: "x2", job_command: "true" }]));
    expect(over.status).toBe(422);
    expect(over.json.error.message).toContain("the run would hold 13 jobs; at most 12");
    expect((await show(first.json.workflow_run_id)).nodes).toHaveLength(11);
  });
});

describe("limits, job tokens, inheritance and metrics", () => {
  test("a workflow file over the node limit is refused naming it; the limits come from the environment or are refused naming the variable", async () => {
    const big = { jobs: Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`j${i}`, { command: "true" }])) };
    const r = await submit({ project: "wf", workflow: big });
    expect(r.status).toBe(422);
    expect(r.json.error).toMatchObject({ field: "workflow", message: "the workflow has 13 jobs; a run holds at most 12" });
    const { workflowLimitsFromEnv, DEFAULT_WORKFLOW_LIMITS } = await import("../../workflows/limits.ts");
    expect(DEFAULT_WORKFLOW_LIMITS).toEqual({ maxNodes: 500, maxDepth: 10, maxTriggersPerJob: 100 });
    expect(workflowLimitsFromEnv({})).toEqual(DEFAULT_WORKFLOW_LIMITS);
    expect(workflowLimitsFromEnv({ REACTORCIDE_WORKFLOW_MAX_NODES: "2000", REACTORCIDE_WORKFLOW_MAX_DEPTH: "3" })).toEqual({ maxNodes: 2000, maxDepth: 3, maxTriggersPerJob: 100 });
    expect(() => workflowLimitsFromEnv({ REACTORCIDE_WORKFLOW_MAX_TRIGGERS_PER_JOB: "0" })).toThrow('REACTORCIDE_WORKFLOW_MAX_TRIGGERS_PER_JOB: must be a whole number of at least 1, got "0"');
    expect(() => workflowLimitsFromEnv({ REACTORCIDE_WORKFLOW_MAX_NODES: "lots" })).toThrow("REACTORCIDE_WORKFLOW_MAX_NODES");
  });

  test("a job token expires at the job's timeout plus the margin; an expired one is refused", async () => {
    const job = (await api.call("POST", "/api/v1/jobs", { body: { name: "timed", command: "true", project: "wf", timeout: 120 } })).json;
    await startJob(job.id);
    const issued = (await internal(`/jobs/${job.id}/token`, {})).json as { token: string; expires_at: string };
    const started = Date.parse((await api.call("GET", `/api/v1/jobs/${job.id}`)).json.started_at);
    const { JOB_TOKEN_MARGIN_SECONDS } = await import("../../auth/job-tokens.ts");
    expect(Date.parse(issued.expires_at) - started).toBe((120 + JOB_TOKEN_MARGIN_SECONDS) * 1000);
    const trigger = () => api.call("POST", `/api/v1/jobs/${job.id}/triggers`, { token: issued.token, body: payload([{ job_name: "later", job_command: "true" }]) });
    await api.sql`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE job_id = ${job.id}`;
    expect((await trigger()).status).toBe(401);
    expect((await api.call("GET", `/api/v1/jobs/${job.id}`, { token: issued.token })).status).toBe(401);
  });

  test("a follow-up job runs from its parent's source and job code unless its trigger names its own", async () => {
    const source = { type: "git", url: "https://example.com/app.git", ref: "main" };
    const ci = { type: "git", url: "https://example.com/ci.git", ref: "v1" };
    const job = (await api.call("POST", "/api/v1/jobs", { body: { name: "sourced", command: "true", project: "wf", source, ci_source: ci } })).json;
    await startJob(job.id);
    const token = (await internal(`/jobs/${job.id}/token`, {})).json.token as string;
    const r = await api.call("POST", `/api/v1/jobs/${job.id}/triggers`, {
      token,
      body: payload([{ job_name: "same", job_command: "true" }, { job_name: "other", job_command: "true", source_type: "git", source_url: "https://example.com/other.git", source_ref: "dev" }]),
    });
    expect(r.status).toBe(201);
    await endJob(job.id);
    const run = await show(r.json.workflow_run_id);
    const same = (await api.call("GET", `/api/v1/jobs/${jobOf(run, "same")}`)).json;
    const other = (await api.call("GET", `/api/v1/jobs/${jobOf(run, "other")}`)).json;
    expect(same).toMatchObject({ source, ci_source: ci, project_id: job.project_id, untrusted: false });
    expect(other).toMatchObject({ source: { type: "git", url: "https://example.com/other.git", ref: "dev" }, ci_source: ci });
  });

  test("/metrics: workflow runs by status and the time nodes wait between ready and started", async () => {
    const r = await submit({ project: "wf", workflow: { jobs: { m1: { command: "true" }, m2: { needs: ["m1"], command: "true" } } } });
    await drive(r.json.id);
    const text = (await api.call("GET", "/metrics", { token: null })).text;
    const success = Number(/^reactorcide_workflow_runs\{status="success"\} (\d+)$/m.exec(text)?.[1]);
    expect(success).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^reactorcide_workflow_runs\{status="awaiting_approval"\} \d+$/m);
    expect(Number(/^reactorcide_workflow_node_wait_seconds_count (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
  });
});

describe("workflow run events", () => {
  test("a subscriber gets created, changed and ended in order, once each, and a new subscriber starts at the newest", async () => {
    const got: WorkflowRunEvent[] = [];
    // Reach the engine the routes use.
    const { WorkflowEngine } = await import("../../workflows/engine.ts");
    const engine = new WorkflowEngine({ db: api.db, queue: api.deps.queue });
    const stop = engine.events.subscribe(`test-${crypto.randomUUID()}`, async (e) => void got.push(e));
    await Bun.sleep(200);
    const r = await submit({ project: "wf", workflow: { jobs: { a: { command: "true" }, b: { needs: ["a"], command: "true" } } } });
    await drive(r.json.id);
    for (let i = 0; i < 40 && !got.some((e) => e.runId === r.json.id && e.kind === "ended"); i++) await Bun.sleep(100);
    stop();
    engine.close();
    const mine = got.filter((e) => e.runId === r.json.id).map((e) => `${e.kind}:${e.status}`);
    expect(mine[0]).toBe("created:running");
    expect(mine.at(-1)).toBe("ended:success");
    expect(mine.filter((k) => k.startsWith("ended"))).toHaveLength(1);
    expect(got.every((e, i) => i === 0 || e.id > got[i - 1]!.id)).toBe(true);
  });

  test("an event whose transaction commits after a later event's is still handed over (ids become visible in order)", async () => {
    const { WorkflowEvents } = await import("../../workflows/events.ts");
    const wf = { jobs: { a: { command: "true" } } };
    const [r1, r2] = [(await submit({ project: "wf", workflow: wf })).json.id as string, (await submit({ project: "wf", workflow: wf })).json.id as string];
    const events = new WorkflowEvents(api.db, 20);
    const got: WorkflowRunEvent[] = [];
    const stop = events.subscribe(`order-${crypto.randomUUID()}`, async (e) => void got.push(e));
    await Bun.sleep(200);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let recorded!: () => void;
    const firstRecorded = new Promise<void>((resolve) => (recorded = resolve));
    // The first writer takes its id, then stays open while a second writer records and commits.
    const slow = api.db.transaction(async (tx) => {
      await events.record(tx, r1, "changed", "running");
      recorded();
      await gate;
    });
    await firstRecorded;
    const quick = api.db.transaction((tx) => events.record(tx, r2, "changed", "running"));
    await Bun.sleep(400);
    release();
    await Promise.all([slow, quick]);
    for (let i = 0; i < 50 && !(got.some((e) => e.runId === r1) && got.some((e) => e.runId === r2)); i++) await Bun.sleep(50);
    stop();
    expect(got.filter((e) => e.runId === r1 || e.runId === r2).map((e) => e.runId)).toEqual([r1, r2]);
  });
});

describe("concurrent event writers", () => {
  test("writers that lock each other's runs after recording do not deadlock on the event lock", async () => {
    const { workflowRuns } = await import("../../../schema/app/index.ts");
    const { eq } = await import("drizzle-orm");
    const wf = { jobs: { a: { command: "true" } } };
    const [r1, r2] = [(await submit({ project: "wf", workflow: wf })).json.id as string, (await submit({ project: "wf", workflow: wf })).json.id as string];
    const events = api.workflows.events;
    const got: WorkflowRunEvent[] = [];
    const stop = events.subscribe(`xlock-${crypto.randomUUID()}`, async (e) => void got.push(e));
    await Bun.sleep(200);
    let r2Locked!: () => void;
    const locked = new Promise<void>((resolve) => (r2Locked = resolve));
    let w1Waiting!: () => void;
    const waiting = new Promise<void>((resolve) => (w1Waiting = resolve));
    // W2 holds run 2's row; W1 records an event for run 1 and then wants run 2's row; W2 then
    // records too. With the event lock taken at record(), W1 would hold it while waiting for W2,
    // and W2 wait for it: Postgres would abort one of them (deadlock detected).
    const w2 = events.transaction(async (tx) => {
      await tx.select().from(workflowRuns).where(eq(workflowRuns.id, r2)).for("update");
      r2Locked();
      await waiting;
      await Bun.sleep(300);
      await events.record(tx, r2, "changed", "running");
    });
    await locked;
    const w1 = events.transaction(async (tx) => {
      await events.record(tx, r1, "changed", "running");
      w1Waiting();
      await tx.select().from(workflowRuns).where(eq(workflowRuns.id, r2)).for("update");
    });
    await Promise.all([w1, w2]);
    for (let i = 0; i < 50 && !(got.some((e) => e.runId === r1) && got.some((e) => e.runId === r2)); i++) await Bun.sleep(50);
    stop();
    // W2 committed first, so its event has the smaller id; both are handed over.
    expect(got.filter((e) => e.runId === r1 || e.runId === r2).map((e) => e.runId)).toEqual([r2, r1]);
  }, 30_000);

  test("many runs advanced, triggered and cancelled at once: no error, every run ends once, events in id order", async () => {
    const got: WorkflowRunEvent[] = [];
    const stop = api.workflows.events.subscribe(`stress-${crypto.randomUUID()}`, async (e) => void got.push(e));
    await Bun.sleep(200);
    const wf = { jobs: { a: { command: "true" }, ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`b${i}`, { needs: ["a"], command: "true" }])), c: { needs: ["b0", "b1", "b2", "b3"], command: "true" } } };
    const runs = (await Promise.all(Array.from({ length: 8 }, () => submit({ project: "wf", workflow: wf })))).map((r) => r.json as Run);
    const ids = runs.map((r) => r.id);
    // Every round: every queued job of every run starts and ends at once, the engine told of each
    // end concurrently; some runs also get a trigger or a cancel in the same moment.
    for (let round = 0; round < 6; round++) {
      const now = await Promise.all(ids.map(show));
      const queued = now.flatMap((r) => r.nodes.filter((n) => n.status === "queued").map((n) => n.job_id!));
      if (queued.length === 0) break;
      await Promise.all(queued.map((id) => startJob(id)));
      const token = round === 0 ? ((await internal(`/jobs/${queued[0]}/token`, {})).json.token as string) : "";
      await Promise.all(queued.map((id) => internal(`/jobs/${id}/status`, { status: "success", exit_code: 0 })));
      await Promise.all([
        ...queued.map((id) => api.workflows.jobEnded(id)),
        ...(round === 1 ? [api.workflows.cancel(ids[7]!, "stress")] : []),
        ...(round === 0 ? [api.call("POST", `/api/v1/jobs/${queued[0]}/triggers`, { token, body: payload([{ job_name: "extra", job_command: "true" }]) })] : []),
      ]);
    }
    await api.jobs.events.drain();
    const ended = await Promise.all(ids.map(show));
    expect(ended.map((r) => r.status)).toEqual([...Array(7).fill("success"), "cancelled"]);
    for (let i = 0; i < 60 && got.filter((e) => ids.includes(e.runId) && e.kind === "ended").length < 8; i++) await Bun.sleep(50);
    stop();
    const mine = got.filter((e) => ids.includes(e.runId));
    for (const id of ids) expect(mine.filter((e) => e.runId === id && e.kind === "ended")).toHaveLength(1);
    expect(mine.every((e, i) => i === 0 || e.id > mine[i - 1]!.id)).toBe(true);
  }, 60_000);
});

describe("crash safety", () => {
  test("a job end whose advance a crash cut off is taken up after restart, by the event and by recover(), and no node is created twice", async () => {
    const r = await submit({ project: "wf", workflow: { jobs: { a: { command: "true" }, b: { needs: ["a"], command: "true" } } } });
    const a = jobOf(r.json, "a");
    expect((await internal(`/jobs/${a}/status`, { status: "running", worker_id: "w1" })).status).toBe(200);
    expect((await internal(`/jobs/${a}/status`, { status: "success", exit_code: 0 })).status).toBe(200);
    // "Killed" before the job-ended event reached the workflow subscriber: b still waits.
    expect(statuses(await show(r.json.id))).toEqual({ a: "success", b: "waiting" });
    // A restarted coordinator: a new app on the same database, its engine recovering, its bus handing the event over.
    const { buildApp } = await import("../app.ts");
    const restarted = buildApp(api.deps);
    await restarted.workflows.recover();
    await restarted.workflows.recover();
    await restarted.jobs.events.drain();
    await api.jobs.events.drain();
    const after = await show(r.json.id);
    expect(statuses(after)).toEqual({ a: "success", b: "queued" });
    const jobs = (await api.call("GET", "/api/v1/jobs?project=wf&name=b&limit=200")).json.jobs as { workflow_run_id: string }[];
    expect(jobs.filter((j) => j.workflow_run_id === r.json.id)).toHaveLength(1);
    await runJob(jobOf(after, "b"));
    expect((await show(r.json.id)).status).toBe("success");
    await restarted.jobs.events.stop();
    restarted.workflows.close();
  });
});
