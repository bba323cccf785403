import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { issueJobToken } from "../../auth/job-tokens.ts";
import { testApi } from "../../testing/api.ts";
import { LOG_BATCH_BODY_LIMIT } from "./internal.ts";

/**
 * Every route against every error of the API that applies to it: malformed JSON 400, failed
 * validation 400 naming the field, no or bad token 401, a role too low 403, unknown ids 404, body
 * over the limit 413. One table, so a route added without its row fails the coverage test below.
 * Only failing requests are sent, so the fixtures stay as they were set up.
 */

type Who = "worker" | "admin" | "reader" | "writer" | "job";

interface Row {
  method: string;
  /** With :project, :job, :user, :key, :rule, :run standing for fixtures made in beforeAll. */
  path: string;
  /** Its own body limit, when not the API's 1 MiB (log batches). */
  bodyLimit?: number;
  /** A valid body: the route takes JSON, so malformed JSON and 413 apply. */
  body?: Record<string, unknown>;
  /** Bodies (or query strings, for GETs) that fail validation, with the field the error names. */
  invalid?: { body?: Record<string, unknown>; query?: string; path?: string; field: string }[];
  /** Callers who are known but not allowed (403), optionally with a body of their own. */
  forbidden: { who: Who; body?: Record<string, unknown> }[];
  /** Paths (or bodies) naming something that does not exist (404). */
  missing?: { path?: string; body?: Record<string, unknown>; field?: string }[];
}

const GHOST = "00000000-0000-4000-8000-000000000000";
const PUBLIC: { who: Who }[] = [{ who: "worker" }];
const WORKER_ONLY: { who: Who }[] = [{ who: "admin" }, { who: "reader" }];

const ROWS: Row[] = [
  // tokens
  {
    method: "POST",
    path: "/api/v1/tokens",
    body: { name: "m" },
    invalid: [{ body: { name: "" }, field: "name" }, { body: { name: "m", expires_in_days: 0 }, field: "expires_in_days" }],
    forbidden: [...PUBLIC, { who: "reader", body: { name: "w", worker: true } }, { who: "reader", body: { name: "u", user: "eve" } }],
  },
  { method: "GET", path: "/api/v1/tokens", forbidden: PUBLIC },
  { method: "DELETE", path: `/api/v1/tokens/${GHOST}`, forbidden: PUBLIC, missing: [{ path: `/api/v1/tokens/${GHOST}` }, { path: "/api/v1/tokens/nope" }] },
  // dashboard sessions (the CSRF rule for cookie requests is in session.test.ts)
  { method: "POST", path: "/api/v1/session", forbidden: PUBLIC },
  { method: "GET", path: "/api/v1/session", forbidden: PUBLIC },
  { method: "DELETE", path: "/api/v1/session", forbidden: PUBLIC },
  // projects
  {
    method: "POST",
    path: "/api/v1/projects",
    body: { name: "never-made" },
    invalid: [{ body: { name: "../etc" }, field: "name" }, { body: { name: "x", fork_pr_policy: "yolo" }, field: "fork_pr_policy" }, { body: { name: "x", fork_pr_network: "off" }, field: "fork_pr_network" }],
    forbidden: PUBLIC,
  },
  { method: "GET", path: "/api/v1/projects", forbidden: PUBLIC },
  { method: "GET", path: "/api/v1/projects/:project", forbidden: PUBLIC, missing: [{ path: "/api/v1/projects/ghost" }, { path: `/api/v1/projects/${GHOST}` }] },
  {
    method: "PATCH",
    path: "/api/v1/projects/:project",
    body: { default_branch: "trunk" },
    invalid: [
      { body: { name: "renamed" }, field: "name" },
      { body: { target_branches: "main" }, field: "target_branches" },
      { body: { default_image: "-v=/:/host" }, field: "default_image" },
      { body: { ci_source_url: "https://x\nREACTORCIDE_JOB_COMMAND=id" }, field: "ci_source_url" },
      { body: { vcs_provider: "bitbucket" }, field: "vcs_provider" },
      { body: { vcs_api_url: "file:///etc/passwd" }, field: "vcs_api_url" },
      { body: { vcs_api_url: "https://x\nA=1" }, field: "vcs_api_url" },
    ],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost" }],
  },
  { method: "DELETE", path: "/api/v1/projects/:project", forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }], missing: [{ path: "/api/v1/projects/ghost" }] },
  { method: "GET", path: "/api/v1/projects/:project/members", forbidden: PUBLIC, missing: [{ path: "/api/v1/projects/ghost/members" }] },
  {
    method: "PUT",
    path: "/api/v1/projects/:project/members/:user",
    body: { role: "read" },
    invalid: [{ body: { role: "owner" }, field: "role" }, { body: {}, field: "role" }],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/members/:user" }, { path: "/api/v1/projects/:project/members/nobody" }],
  },
  {
    method: "DELETE",
    path: "/api/v1/projects/:project/members/:user",
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/members/:user" }, { path: "/api/v1/projects/:project/members/nobody" }],
  },
  // secrets
  { method: "GET", path: "/api/v1/projects/:project/secrets", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: "/api/v1/projects/ghost/secrets" }] },
  {
    method: "PUT",
    path: "/api/v1/projects/:project/secrets/:key",
    body: { value: "vvv" },
    invalid: [
      { body: { value: "" }, field: "value" },
      { body: { value: "vvv", plain: true }, field: "plain" },
      { path: "/api/v1/projects/:project/secrets/1BAD", body: { value: "vvv" }, field: "key" },
    ],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/secrets/:key" }],
  },
  {
    method: "DELETE",
    path: "/api/v1/projects/:project/secrets/:key",
    invalid: [{ path: "/api/v1/projects/:project/secrets/A-B", field: "key" }],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/secrets/:key" }, { path: "/api/v1/projects/:project/secrets/NOT_SET" }],
  },
  // notifications
  {
    method: "POST",
    path: "/api/v1/projects/:project/notifications",
    body: { target: { type: "email", to: ["m@example.com"] } },
    invalid: [
      { body: { on: "sometimes", target: { type: "email", to: ["m@example.com"] } }, field: "on" },
      { body: {}, field: "target" },
      { body: { target: { type: "sms", to: ["m@example.com"] } }, field: "target.type" },
      { body: { target: { type: "email" } }, field: "target.to" },
      { body: { target: { type: "email", to: [] } }, field: "target.to" },
      { body: { target: { type: "email", to: ["m@example.com"], url: "https://example.com/h" } }, field: "target.url" },
      { body: { target: { type: "webhook" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "https://example.com/h", secret: "short" } }, field: "target.secret" },
      { body: { events: ["deploy"], target: { type: "email", to: ["m@example.com"] } }, field: "events.0" },
      { body: { branches: ["main branch"], target: { type: "email", to: ["m@example.com"] } }, field: "branches.0" },
      // Hostile input: a header smuggled into a recipient, a second recipient, plain http beyond loopback,
      // a look-alike loopback host, credentials that hide the real host, other schemes.
      { body: { target: { type: "email", to: ["m@example.com\r\nBcc: eve@evil.test"] } }, field: "target.to.0" },
      { body: { target: { type: "email", to: ["m@example.com, eve@evil.test"] } }, field: "target.to.0" },
      { body: { target: { type: "email", to: ["Eve <eve@evil.test>"] } }, field: "target.to.0" },
      { body: { target: { type: "webhook", url: "http://example.com/hook" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "http://127.0.0.1.evil.test/hook" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "http://localhost.evil.test/hook" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "https://127.0.0.1@evil.test/hook" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "file:///etc/passwd" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "gopher://127.0.0.1:25/" } }, field: "target.url" },
      { body: { target: { type: "webhook", url: "/relative/hook" } }, field: "target.url" },
    ],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/notifications" }],
  },
  { method: "GET", path: "/api/v1/projects/:project/notifications", forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }], missing: [{ path: "/api/v1/projects/ghost/notifications" }] },
  {
    method: "DELETE",
    path: "/api/v1/projects/:project/notifications/:rule",
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/notifications/:rule" }, { path: `/api/v1/projects/:project/notifications/${GHOST}` }, { path: "/api/v1/projects/:project/notifications/nope" }],
  },
  {
    method: "POST",
    path: "/api/v1/projects/:project/notifications/:rule/test",
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/notifications/:rule/test" }, { path: `/api/v1/projects/:project/notifications/${GHOST}/test` }],
  },
  // jobs
  {
    method: "POST",
    path: "/api/v1/jobs",
    body: { name: "m", command: "true", project: "matrix" },
    invalid: [
      { body: { command: "true", project: "matrix" }, field: "name" },
      { body: { name: "m", command: "true", project: "matrix", timeout: 0 }, field: "timeout" },
      { body: { name: "m", command: "true", project: "matrix", secrets: ["NOT_SET"] }, field: "secrets" },
      // Hostile input: an option where the image goes, NUL, lines smuggled into a source URL, limits below the minimum.
      { body: { name: "m", command: "true", project: "matrix", image: "--privileged" }, field: "image" },
      { body: { name: "m", command: "true", project: "matrix", env: { A: "x\u0000y" } }, field: "env.A" },
      { body: { name: "m", command: "true\u0000", project: "matrix" }, field: "command" },
      { body: { name: "m", command: "true", project: "matrix", source: { type: "git", url: "https://x\nA=1" } }, field: "source.url" },
      { body: { name: "m", command: "true", project: "matrix", resources: { memory: "0" } }, field: "resources.memory" },
    ],
    forbidden: [...PUBLIC, { who: "reader" }],
    missing: [{ body: { name: "m", command: "true", project: "ghost" }, field: "project" }],
  },
  {
    method: "GET",
    path: "/api/v1/jobs",
    invalid: [{ query: "status=done", field: "status" }, { query: "limit=0", field: "limit" }, { query: "offset=x", field: "offset" }],
    forbidden: PUBLIC,
    missing: [{ path: "/api/v1/jobs?project=ghost", field: "project" }],
  },
  { method: "GET", path: "/api/v1/jobs/:job", forbidden: PUBLIC, missing: [{ path: `/api/v1/jobs/${GHOST}` }, { path: "/api/v1/jobs/42" }] },
  { method: "POST", path: "/api/v1/jobs/:job/cancel", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/jobs/${GHOST}/cancel` }] },
  { method: "POST", path: "/api/v1/jobs/:job/retry", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/jobs/${GHOST}/retry` }] },
  {
    method: "GET",
    path: "/api/v1/jobs/:job/logs",
    invalid: [{ query: "follow=yes", field: "follow" }, { query: "after=-1", field: "after" }],
    forbidden: PUBLIC,
    missing: [{ path: `/api/v1/jobs/${GHOST}/logs` }],
  },
  {
    method: "POST",
    path: "/api/v1/jobs/:job/triggers",
    body: { type: "trigger_job", operation_id: GHOST, jobs: [] },
    invalid: [
      { body: { type: "jobs", operation_id: GHOST, jobs: [] }, field: "type" },
      { body: { type: "trigger_job", operation_id: "not-a-uuid", jobs: [] }, field: "operation_id" },
      { body: { type: "trigger_job", operation_id: GHOST, jobs: [{ job_name: "../x" }] }, field: "jobs.0.job_name" },
      { body: { type: "trigger_job", operation_id: GHOST, jobs: [{ job_name: "x", privileged: true }] }, field: "jobs.0.privileged" },
    ],
    // Only the job's own job token: not a user's, not a worker's.
    forbidden: [{ who: "worker" }, { who: "admin" }, { who: "reader" }],
  },
  // workflows
  {
    method: "POST",
    path: "/api/v1/workflows",
    body: { project: "matrix", workflow: "jobs: {a: {command: 'true'}}" },
    invalid: [
      { body: { project: "matrix", workflow: 5 }, field: "workflow" },
      { body: { project: "matrix", workflow: "jobs: {a: {command: 'true'}}", event: "deploy" }, field: "event" },
      { body: { project: "matrix", workflow: { jobs: { a: { command: "true", needs: ["nope"] } } } }, field: "workflow.jobs.a.depends_on" },
      { body: { project: "matrix", workflow: "jobs: {a: {command: 'true'}}", secrets: ["NOT_SET"] }, field: "secrets" },
      { body: { project: "matrix", workflow: "jobs: {a: {command: 'true'}}", sha: "HEAD;rm" }, field: "sha" },
    ],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "job" }],
    missing: [{ body: { project: "ghost", workflow: "jobs: {a: {command: 'true'}}" }, field: "project" }],
  },
  {
    method: "GET",
    path: "/api/v1/workflows",
    invalid: [{ query: "status=done", field: "status" }, { query: "limit=0", field: "limit" }, { query: "offset=x", field: "offset" }],
    forbidden: [...PUBLIC, { who: "job" }],
    missing: [{ path: "/api/v1/workflows?project=ghost", field: "project" }],
  },
  { method: "GET", path: "/api/v1/workflows/:run", forbidden: [...PUBLIC, { who: "job" }], missing: [{ path: `/api/v1/workflows/${GHOST}` }, { path: "/api/v1/workflows/42" }] },
  { method: "POST", path: "/api/v1/workflows/:run/cancel", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/workflows/${GHOST}/cancel` }] },
  { method: "POST", path: "/api/v1/workflows/:run/retry", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/workflows/${GHOST}/retry` }] },
  { method: "POST", path: "/api/v1/workflows/:run/retry-failed", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/workflows/${GHOST}/retry-failed` }] },
  { method: "POST", path: "/api/v1/workflows/:run/approve", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/workflows/${GHOST}/approve` }, { path: "/api/v1/workflows/42/approve" }] },
  { method: "POST", path: "/api/v1/workflows/:run/decline", forbidden: [...PUBLIC, { who: "reader" }], missing: [{ path: `/api/v1/workflows/${GHOST}/decline` }] },
  // runs awaiting approval across projects
  {
    method: "GET",
    path: "/api/v1/approvals",
    invalid: [{ query: "limit=0", field: "limit" }, { query: "limit=201", field: "limit" }, { query: "offset=x", field: "offset" }],
    forbidden: [...PUBLIC, { who: "job" }],
    missing: [{ path: "/api/v1/approvals?project=ghost", field: "project" }],
  },
  // webhook deliveries
  {
    method: "GET",
    path: "/api/v1/projects/:project/deliveries",
    invalid: [{ query: "limit=0", field: "limit" }, { query: "offset=-1", field: "offset" }],
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: "/api/v1/projects/ghost/deliveries" }],
  },
  {
    method: "POST",
    path: `/api/v1/projects/:project/deliveries/${GHOST}/redeliver`,
    forbidden: [...PUBLIC, { who: "reader" }, { who: "writer" }],
    missing: [{ path: `/api/v1/projects/ghost/deliveries/${GHOST}/redeliver` }, { path: `/api/v1/projects/:project/deliveries/${GHOST}/redeliver` }, { path: "/api/v1/projects/:project/deliveries/7/redeliver" }],
  },
  // worker endpoints
  { method: "POST", path: "/api/v1/internal/jobs/:job/token", forbidden: [...WORKER_ONLY, { who: "job" }], missing: [{ path: `/api/v1/internal/jobs/${GHOST}/token` }] },
  {
    method: "POST",
    path: "/api/v1/internal/jobs/:job/triggers",
    body: { via: "file", payload: { type: "trigger_job", operation_id: GHOST, jobs: [] } },
    invalid: [
      { body: { via: "carrier-pigeon", payload: { type: "trigger_job", operation_id: GHOST, jobs: [] } }, field: "via" },
      { body: { via: "file", payload: { type: "trigger_job", operation_id: GHOST } }, field: "payload.jobs" },
    ],
    forbidden: [...WORKER_ONLY, { who: "job" }],
    missing: [{ path: `/api/v1/internal/jobs/${GHOST}/triggers` }],
  },
  { method: "GET", path: "/api/v1/internal/jobs/:job", forbidden: WORKER_ONLY, missing: [{ path: `/api/v1/internal/jobs/${GHOST}` }] },
  {
    method: "POST",
    path: "/api/v1/internal/jobs/:job/status",
    body: { status: "running" },
    invalid: [{ body: { status: "queued" }, field: "status" }, { body: { status: "success", exit_code: 300 }, field: "exit_code" }],
    forbidden: WORKER_ONLY,
    missing: [{ path: `/api/v1/internal/jobs/${GHOST}/status` }],
  },
  {
    method: "POST",
    path: "/api/v1/internal/jobs/:job/start",
    body: { worker_id: "w-matrix", image: "busybox" },
    invalid: [{ body: { image: "busybox" }, field: "worker_id" }, { body: { worker_id: "w-matrix", image: "busybox", token: "yes" }, field: "token" }],
    forbidden: WORKER_ONLY,
    missing: [{ path: `/api/v1/internal/jobs/${GHOST}/start` }],
  },
  {
    method: "POST",
    path: "/api/v1/internal/jobs/:job/logs",
    body: { lines: [{ line: "x" }] },
    bodyLimit: LOG_BATCH_BODY_LIMIT,
    invalid: [{ body: { lines: [] }, field: "lines" }, { body: { lines: [{ line: "x", stream: "tty" }] }, field: "lines.0.stream" }],
    forbidden: WORKER_ONLY,
    missing: [{ path: `/api/v1/internal/jobs/${GHOST}/logs` }],
  },
  {
    method: "POST",
    path: "/api/v1/internal/jobs/:job/log-chunks",
    invalid: [{ query: "offset=x&lines=1", field: "offset" }, { query: "lines=1", field: "offset" }, { query: "offset=0&lines=0", field: "lines" }],
    forbidden: WORKER_ONLY,
    missing: [{ path: `/api/v1/internal/jobs/${GHOST}/log-chunks?offset=0&lines=1` }],
  },
  { method: "GET", path: "/api/v1/internal/jobs/:job/secrets", forbidden: WORKER_ONLY, missing: [{ path: `/api/v1/internal/jobs/${GHOST}/secrets` }] },
  {
    method: "POST",
    path: "/api/v1/internal/workers/heartbeat",
    body: { id: "w1" },
    invalid: [{ body: { id: "bad id!" }, field: "id" }, { body: { id: "w1", slots: 0 }, field: "slots" }],
    forbidden: WORKER_ONLY,
  },
];

/**
 * Open routes: none of the errors apply (no token, no body, no ids). The webhooks take no token:
 * their signature is the credential, tested with hostile deliveries in daemon/vcs/webhooks.test.ts.
 */
const OPEN = ["GET /healthz", "GET /readyz", "GET /metrics", "GET /api/docs", "GET /api/docs/json", "POST /api/v1/webhooks/github", "POST /api/v1/webhooks/gitlab"];

let api: Awaited<ReturnType<typeof testApi>>;
const tokens = {} as Record<Who, string>;
const fixtures: Record<string, string> = {};

beforeAll(async () => {
  api = await testApi();
  tokens.admin = api.admin;
  tokens.worker = await api.tokenFor("m-worker", { worker: true });
  tokens.reader = await api.tokenFor("m-reader");
  tokens.writer = await api.tokenFor("m-writer");
  const project = await api.call("POST", "/api/v1/projects", { body: { name: "matrix", default_image: "busybox" } });
  await api.call("PUT", "/api/v1/projects/matrix/members/m-reader", { body: { role: "read" } });
  await api.call("PUT", "/api/v1/projects/matrix/members/m-writer", { body: { role: "write" } });
  await api.call("PUT", "/api/v1/projects/matrix/secrets/MKEY", { body: { value: "matrix-secret" } });
  const job = await api.call("POST", "/api/v1/jobs", { body: { name: "m", command: "true", project: "matrix" } });
  const rule = await api.call("POST", "/api/v1/projects/matrix/notifications", { body: { target: { type: "email", to: ["m@example.com"] } } });
  tokens.job = (await issueJobToken(api.db, { id: job.json.id, name: "m", timeoutSeconds: 60, startedAt: null })).token;
  const run = await api.call("POST", "/api/v1/workflows", { body: { project: "matrix", workflow: { jobs: { w: { command: "true" } } } } });
  Object.assign(fixtures, { project: project.json.id, job: job.json.id, user: "m-reader", key: "MKEY", rule: rule.json.id, run: run.json.id });
});
afterAll(() => api?.close());

const fill = (path: string) => path.replace(/:(project|job|user|key|rule|run)\b/g, (_, name: string) => fixtures[name]!);

async function send(row: Row, options: { path?: string; token?: string | null; body?: unknown; headers?: Record<string, string> }) {
  return api.call(row.method, fill(options.path ?? row.path), { token: options.token ?? null, body: options.body, headers: options.headers });
}

/** The status and the error's code, plus the field when one is expected: compared as one value, so a failure shows the case. */
function expectError(r: Awaited<ReturnType<typeof send>>, label: string, status: number, code: string, field?: string) {
  const got = { label, status: r.status, code: r.json?.error?.code, ...(field !== undefined && { field: r.json?.error?.field }) };
  expect(got).toEqual({ label, status, code, ...(field !== undefined && { field }) });
  expect(typeof r.json.error.message).toBe("string");
}

const tokenFor = (row: Row): string =>
  row.path.includes("/internal/") ? tokens.worker : row.path.endsWith("/triggers") ? tokens.job : tokens.admin;

describe("error matrix", () => {
  test("every route the API serves has a row", async () => {
    const spec = (await api.call("GET", "/api/docs/json", { token: null })).json as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1").replace(/\/$/, "") || "/"}`),
    );
    const pattern = (p: string) => p.replace(/\/(:\w+|[0-9a-f-]{36})/g, "/:param");
    const covered = new Set([...ROWS.map((r) => `${r.method} ${pattern(r.path)}`), ...OPEN]);
    const uncovered = served.filter((s) => !covered.has(pattern(s)) && !covered.has(s));
    expect(served.length).toBeGreaterThan(ROWS.length);
    expect(uncovered).toEqual([]);
  });

  for (const row of ROWS) {
    describe(`${row.method} ${row.path}`, () => {
      test("401 without a token, with a malformed header, with an unknown token", async () => {
        expectError(await send(row, { body: row.body }), "no token", 401, "unauthorized");
        expectError(await send(row, { body: row.body, headers: { authorization: `Basic ${btoa("a:b")}` } }), "basic auth", 401, "unauthorized");
        expectError(await send(row, { body: row.body, token: "rcd_unknownunknownunknownunknownunknownunknown" }), "unknown token", 401, "unauthorized");
      });

      test("403 for callers without the right", async () => {
        for (const { who, body } of row.forbidden) {
          expectError(await send(row, { body: body ?? row.body, token: tokens[who] }), `as ${who}`, 403, "forbidden");
        }
      });

      if (row.missing) {
        test("404 for unknown ids", async () => {
          for (const m of row.missing!) {
            const r = await send(row, { path: m.path, body: m.body ?? row.body, token: tokenFor(row) });
            expectError(r, `missing ${m.path ?? JSON.stringify(m.body)}`, 404, "not_found", m.field);
          }
        });
      }

      if (row.invalid) {
        test("400 naming the field on failed validation", async () => {
          for (const bad of row.invalid!) {
            const path = bad.query ? `${row.path}?${bad.query}` : bad.path;
            const r = await send(row, { path, body: bad.body ?? row.body, token: tokenFor(row) });
            expectError(r, `invalid ${bad.query ?? JSON.stringify(bad.body)}`, 400, "invalid", bad.field);
            expect(r.json.error.message).toStartWith(`${bad.field}: `);
            expect(r.json.error.message).not.toContain("Expected");
          }
        });
      }

      if (row.body) {
        test("400 on malformed JSON, 413 on a body over the limit", async () => {
          const token = tokenFor(row);
          expectError(await send(row, { body: '{"oops": ', token }), "malformed", 400, "malformed_json");
          expectError(await send(row, { body: "[1, 2", token }), "malformed array", 400, "malformed_json");
          expectError(await send(row, { body: "[1, 2]", token }), "not an object", 400, "invalid");
          const huge = JSON.stringify({ ...row.body, padding: "x".repeat((row.bodyLimit ?? 1024 * 1024) + 100_000) });
          expectError(await send(row, { body: huge, token }), "over the limit", 413, "payload_too_large");
          // Streamed without a Content-Length, the limit still holds.
          const stream = new Response(huge).body!;
          const r = await api.app.handle(
            new Request(`http://local${fill(row.path)}`, {
              method: row.method,
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: stream,
            }),
          );
          expect({ streamed: r.status }).toEqual({ streamed: 413 });
          // Nor does another content type get past it (the form parser would read it all, slowly).
          const form = await api.app.handle(
            new Request(`http://local${fill(row.path)}`, {
              method: row.method,
              headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
              body: new Response("a=" + "x".repeat((row.bodyLimit ?? 1024 * 1024) + 100_000)).body!,
            }),
          );
          expect({ form: form.status }).toEqual({ form: 413 });
        });
      }
    });
  }

  test("validation messages say what the field allows", async () => {
    const job = (extra: Record<string, unknown>) => api.call("POST", "/api/v1/jobs", { body: { name: "m", command: "true", project: "matrix", ...extra } });
    const cases: [Record<string, unknown>, string][] = [
      [{ timeout: "soon" }, "timeout: must be a whole number from 1 to 604800"],
      [{ priority: 5000 }, "priority: must be a whole number from -1000 to 1000"],
      [{ source: { type: "svn" } }, 'source.type: must be one of "git", "copy", "tarball", "none"'],
      [{ env: { "BAD-NAME": "x" } }, "env.BAD-NAME: is not an allowed name (names are letters, digits and _ (not __proto__))"],
      [{ name: "a b" }, "name: must be letters, digits, . _ - (up to 200)"],
      [{ privileged: true }, "privileged: is not a known field (known: name, command, project,"],
    ];
    for (const [extra, message] of cases) expect((await job(extra)).json.error.message).toStartWith(message);
    const missing = await api.call("POST", "/api/v1/jobs", { body: { name: "m", project: "matrix" } });
    expect(missing.json.error.message).toStartWith("command: is required");
    const body = await api.call("POST", "/api/v1/jobs", { body: "null" });
    expect(body.json.error.message).toBe("the request body must be a JSON object");
  });

  test("a JSON body is read as JSON whatever its content type says (curl -d sends form encoding)", async () => {
    const body = JSON.stringify({ name: "m", command: "true", project: "matrix" });
    const form = await api.call("POST", "/api/v1/jobs", { body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(201);
    await api.call("POST", `/api/v1/jobs/${form.json.id}/cancel`);
    const notJson = await api.call("POST", "/api/v1/jobs", { body: "name=m&command=true", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toEqual({ code: "malformed_json", message: "the request body is not valid JSON (send JSON with content-type: application/json)" });
  });

  test("nothing the matrix sent changed the fixtures", async () => {
    const job = await api.call("GET", `/api/v1/jobs/${fixtures.job}`);
    expect(job.json.status).toBe("queued");
    const project = await api.call("GET", "/api/v1/projects/matrix");
    expect(project.json.default_branch).toBe("main");
    const members = await api.call("GET", "/api/v1/projects/matrix/members");
    expect(members.json.members).toContainEqual({ user: "m-reader", role: "read" });
    const secrets = await api.call("GET", "/api/v1/projects/matrix/secrets");
    expect(secrets.json.secrets.map((s: { key: string }) => s.key)).toEqual(["MKEY"]);
    const rules = await api.call("GET", "/api/v1/projects/matrix/notifications");
    expect(rules.json.notifications.map((r: { id: string }) => r.id)).toEqual([fixtures.rule]);
  });
});
