/**
 * GET /api/v1/approvals: runs awaiting approval across the caller's projects, as the dashboard's
 * Approvals page lists them. A fork pull request delivered as GitHub sends it (signed, the GitHub
 * stand-in answering the daemon) and runs held by their submitter; members of different roles,
 * an outsider and the administrator each see their own list.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import * as schema from "../../../schema/app/index.ts";
import type { VcsServices } from "../../vcs/services.ts";
import { deliverAndProcess, runJobAsWorker, testApiWithGithub } from "../../vcs/testing/fork-flow.ts";
import type { GithubStandIn } from "../../vcs/testing/github-standin.ts";
import { githubPullRequest } from "../../vcs/testing/payloads.ts";
import { listAwaitingApproval } from "../../workflows/awaiting-approval.ts";
import { parseWorkflowDefinition } from "../../workflows/definition.ts";

const SECRET = "approvals-list-secret";
const REPO = { cloneUrl: "http://127.0.0.1:9/acme/alpha.git", fullName: "acme/alpha" };
const FORK = { cloneUrl: "http://127.0.0.1:9/mallory/alpha.git", fullName: "mallory/alpha" };
const HEAD = "d4".repeat(20);
const BASE = "e5".repeat(20);
let api: Awaited<ReturnType<typeof testApiWithGithub>>["api"];
let gh: GithubStandIn;
let vcs: VcsServices;
let stop = async () => {};
const ids = {} as Record<"fork" | "beta" | "gamma" | "running", string>;
const tokens = {} as Record<"walt" | "rita" | "olga", string>;

beforeAll(async () => {
  ({ api, gh, vcs, stop } = await testApiWithGithub("ghp_alpha"));
  const alpha = await api.call("POST", "/api/v1/projects", { body: { name: "alpha", repo_url: "https://github.example/acme/alpha", webhook_secret: SECRET, vcs_token: "ghp_alpha", vcs_api_url: gh.url } });
  const beta = await api.call("POST", "/api/v1/projects", { body: { name: "beta" } });
  const gamma = await api.call("POST", "/api/v1/projects", { body: { name: "gamma" } });
  expect([alpha.status, beta.status, gamma.status]).toEqual([201, 201, 201]);
  for (const user of ["walt", "rita", "olga"] as const) tokens[user] = await api.tokenFor(user);
  await api.call("PUT", "/api/v1/projects/alpha/members/walt", { body: { role: "write" } });
  await api.call("PUT", "/api/v1/projects/alpha/members/rita", { body: { role: "read" } });
  await api.call("PUT", "/api/v1/projects/beta/members/walt", { body: { role: "read" } });

  // Oldest first: the fork's run in alpha, then beta's and gamma's held runs; alpha's running run is not listed.
  const payload = githubPullRequest(REPO, { action: "opened", number: 7, baseRef: "main", baseSha: BASE, headRef: "patch", headSha: HEAD, head: FORK, association: "NONE" });
  const d = await deliverAndProcess(api, vcs, { provider: "github", secret: SECRET, event: "pull_request", payload });
  await runJobAsWorker(api, d.eval_job_id, "success", [{ job_name: "test", workflow: "ci", job_command: "make test" }]);
  ids.fork = (await api.sql`SELECT id FROM workflow_runs WHERE commit_sha = ${HEAD}`)[0]!.id;
  const held = (projectId: string, name: string) => api.workflows.start({ projectId, workflow: parseWorkflowDefinition({ name, jobs: { a: { command: "true" } } }), awaitingApproval: true, sha: "f6".repeat(20), ref: "main" });
  ids.beta = (await held(beta.json.id, "release")).id;
  ids.gamma = (await held(gamma.json.id, "deploy")).id;
  ids.running = (await api.workflows.start({ projectId: alpha.json.id, workflow: parseWorkflowDefinition({ name: "plain", jobs: { a: { command: "true" } } }) })).id;
}, 60_000);
afterAll(() => stop());

const list = async (token: string, query = "") => {
  const r = await api.call("GET", `/api/v1/approvals${query}`, { token });
  expect(r.status).toBe(200);
  return r.json as { approvals: { run_id: string; project_name: string; role: string; may_approve: boolean }[]; next_offset: number | null };
};
const seen = (l: Awaited<ReturnType<typeof list>>) => l.approvals.map((a) => [a.project_name, a.role, a.may_approve]);

describe("GET /api/v1/approvals", () => {
  test("each caller sees the waiting runs of the projects they may read, with their role and whether they may approve; an outsider sees none", async () => {
    const admin = await list(api.admin);
    expect(admin.approvals.map((a) => a.run_id)).toEqual([ids.fork, ids.beta, ids.gamma]);
    expect(seen(admin)).toEqual([["alpha", "admin", true], ["beta", "admin", true], ["gamma", "admin", true]]);
    expect(seen(await list(tokens.walt))).toEqual([["alpha", "write", true], ["beta", "read", false]]);
    expect(seen(await list(tokens.rita))).toEqual([["alpha", "read", false]]);
    expect(await list(tokens.olga)).toEqual({ approvals: [], next_offset: null });
  });

  test("a fork pull request's entry: pull request, fork, commits, author, since when; a held run has no fork_pr", async () => {
    const [fork, beta] = (await list(tokens.walt)).approvals as never as Record<string, unknown>[];
    const run = (await api.call("GET", `/api/v1/workflows/${ids.fork}`)).json;
    expect(fork).toEqual({
      run_id: ids.fork,
      run_name: run.name,
      project_id: run.project_id,
      project_name: "alpha",
      event: run.event,
      ref: "main",
      sha: HEAD,
      fork_pr: { pr_number: 7, head_repo_url: FORK.cloneUrl, head_sha: HEAD, base_sha: BASE, author: run.fork_pr.author, maintainer: false },
      waiting_since: run.created_at,
      role: "write",
      may_approve: true,
    });
    expect(run.fork_pr.author).toBeString();
    expect(beta).toMatchObject({ run_id: ids.beta, run_name: "release", fork_pr: null, sha: "f6".repeat(20) });
  });

  test("?project= narrows to one project (404 for one the caller cannot see); limit and offset page through", async () => {
    expect(seen(await list(tokens.walt, "?project=beta"))).toEqual([["beta", "read", false]]);
    const hidden = await api.call("GET", "/api/v1/approvals?project=gamma", { token: tokens.walt });
    expect({ status: hidden.status, field: hidden.json.error.field }).toEqual({ status: 404, field: "project" });
    const first = await list(api.admin, "?limit=2");
    expect(first.approvals.map((a) => a.run_id)).toEqual([ids.fork, ids.beta]);
    expect(first.next_offset).toBe(2);
    expect(await list(api.admin, "?limit=2&offset=2")).toMatchObject({ approvals: [{ run_id: ids.gamma }], next_offset: null });
  });

  test("one query, whatever the number of runs and projects", async () => {
    let queries = 0;
    const counted = drizzle(api.sql, { schema, logger: { logQuery: () => void queries++ } });
    const me = (await api.sql`SELECT id FROM users WHERE name = 'walt'`)[0]!.id as string;
    expect(await listAwaitingApproval(counted, { userId: me, isAdmin: false }, { limit: 100, offset: 0 })).toHaveLength(2);
    expect(await listAwaitingApproval(counted, { userId: me, isAdmin: true }, { limit: 100, offset: 0 })).toHaveLength(3);
    expect(queries).toBe(2);
  });

  test("a decided run leaves every list; a reader's approve is refused and the run still waits", async () => {
    const refused = await api.call("POST", `/api/v1/workflows/${ids.fork}/approve`, { token: tokens.rita });
    expect(refused.status).toBe(403);
    expect((await list(tokens.rita)).approvals.map((a) => a.run_id)).toEqual([ids.fork]);
    expect((await api.call("POST", `/api/v1/workflows/${ids.fork}/approve`, { token: tokens.walt })).json.status).toBe("running");
    expect((await api.call("POST", `/api/v1/workflows/${ids.gamma}/decline`)).json.status).toBe("failure");
    expect(await list(tokens.rita)).toEqual({ approvals: [], next_offset: null });
    expect((await list(api.admin)).approvals.map((a) => a.run_id)).toEqual([ids.beta]);
  });
});
