/**
 * Fork pull requests (#14) from the delivery to the commit: the project's fork_pr_policy, its
 * maintainers, fork_pr_secrets and fork_pr_network; approval and decline through the API and by
 * pull request comments whose authors' access is asked of the GitHub stand-in (answers checked
 * against @octokit/openapi) and the GitLab stand-in; every decision bound to the pull request's
 * head and base SHA and in the audit log. Jobs are moved by the job store as a worker would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../testing/api.ts";
import { startVcsServices, type VcsServices } from "./services.ts";
import { deliverAndProcess, runJobAsWorker } from "./testing/fork-flow.ts";
import { startGithubStandIn, type GithubStandIn } from "./testing/github-standin.ts";
import { startGitlabStandIn, type GitlabStandIn } from "./testing/gitlab-standin.ts";
import { githubIssueComment, githubPullRequest, gitlabMergeRequest, gitlabNote, gitlabProject } from "./testing/payloads.ts";

const SECRET = "fork-hook-secret";
const REPO = { cloneUrl: "http://172.17.0.1:9/acme/forks.git", fullName: "acme/forks" };
const FORK = { cloneUrl: "http://172.17.0.1:9/mallory/forks.git", fullName: "mallory/forks" };
const BASE_SHA = "b".repeat(40);
let api: Awaited<ReturnType<typeof testApi>>;
let gh: GithubStandIn;
let gl: GitlabStandIn;
let vcs: VcsServices;
const logs: string[] = [];

beforeAll(async () => {
  let kick = () => {};
  api = await testApi({ vcs: { deliveryRecorded: () => kick() } });
  gh = startGithubStandIn({ token: "ghp_forks" });
  gl = startGitlabStandIn({ token: "glpat-forks" });
  vcs = await startVcsServices({ db: api.db, sql: api.sql, queue: api.deps.queue, keys: [api.deps.key], publicUrl: "https://ci.example", baseBackoffMs: 50, log: (l) => logs.push(l) });
  kick = () => vcs.deliveryRecorded();
  vcs.sync.followRuns(api.workflows.events);
  vcs.useWorkflows(api.workflows);
  const made = await api.call("POST", "/api/v1/projects", {
    body: { name: "forks", repo_url: "https://github.example/acme/forks", webhook_secret: SECRET, vcs_token: "ghp_forks", vcs_api_url: gh.url, fork_pr_secrets: ["TEST_TOKEN"], fork_pr_network: "none" },
  });
  expect(made.status).toBe(201);
  await api.call("PUT", "/api/v1/projects/forks/secrets/TEST_TOKEN", { body: { value: "test-token-value" } });
  await api.call("PUT", "/api/v1/projects/forks/secrets/DEPLOY_KEY", { body: { value: "deploy-key-value" } });
}, 60_000);
afterAll(async () => {
  await vcs?.stop();
  gh?.stop();
  gl?.stop();
  await api?.close();
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

const deliver = (event: string, payload: unknown) => deliverAndProcess(api, vcs, { provider: "github", secret: SECRET, event, payload });
const pr = (number: number, headSha: string, o: { action?: string; association?: string; head?: typeof FORK } = {}) =>
  githubPullRequest(REPO, { action: o.action ?? "opened", number, baseRef: "main", baseSha: BASE_SHA, headRef: "patch", headSha, head: o.head ?? FORK, association: o.association ?? "NONE" });
const WORKFLOW = [
  { job_name: "test", workflow: "ci", job_command: "make test", secrets: ["TEST_TOKEN"] },
  { job_name: "deploy", workflow: "ci", depends_on: ["test"], job_command: "make deploy", secrets: ["DEPLOY_KEY"] },
];
const runsOf = (sha: string) => api.sql`SELECT * FROM workflow_runs WHERE commit_sha = ${sha} ORDER BY name`;
const jobsOf = (runId: string) => api.sql`SELECT * FROM jobs WHERE workflow_run_id = ${runId} ORDER BY created_at`;

/** A fork pull request at `headSha` whose eval has run: its runs. */
async function forkPrRuns(number: number, headSha: string, o: { action?: string; association?: string } = {}) {
  const d = await deliver("pull_request", pr(number, headSha, o));
  expect(d.outcome).toBe("accepted");
  await runJobAsWorker(api, d.eval_job_id, "success", WORKFLOW);
  return { delivery: d, runs: await runsOf(headSha) };
}

describe("project settings for fork pull requests", () => {
  test("defaults, and bad values refused naming the field", async () => {
    const made = await api.call("POST", "/api/v1/projects", { body: { name: "fork-defaults" } });
    expect(made.json).toMatchObject({ fork_pr_policy: "approval", fork_pr_trust_maintainers: true, fork_pr_secrets: [], fork_pr_network: "default" });
    for (const [body, field] of [
      [{ fork_pr_secrets: ["not a name"] }, "fork_pr_secrets"],
      [{ fork_pr_secrets: "TEST_TOKEN" }, "fork_pr_secrets"],
      [{ fork_pr_network: "off" }, "fork_pr_network"],
      [{ fork_pr_trust_maintainers: "yes" }, "fork_pr_trust_maintainers"],
      [{ fork_pr_policy: "sometimes" }, "fork_pr_policy"],
    ] as const) {
      const r = await api.call("PATCH", "/api/v1/projects/fork-defaults", { body });
      expect(r.status).toBe(400);
      expect(r.json.error.field).toStartWith(field);
    }
    const changed = await api.call("PATCH", "/api/v1/projects/fork-defaults", { body: { fork_pr_secrets: ["A", "A", "B"], fork_pr_network: "none", fork_pr_trust_maintainers: false } });
    expect(changed.json).toMatchObject({ fork_pr_secrets: ["A", "B"], fork_pr_network: "none", fork_pr_trust_maintainers: false });
  });
});

describe("policy approval (GitHub stand-in)", () => {
  test("the eval runs on the base job code without secrets; its runs wait, pending \"awaiting approval\" linking to the run; the summary says CI files came from the base", async () => {
    const head = "1".repeat(40);
    const { delivery, runs } = await forkPrRuns(31, head);
    const [evalJob] = await api.sql`SELECT * FROM jobs WHERE id = ${delivery.eval_job_id}`;
    expect(evalJob!.secret_refs).toEqual([]);
    expect(evalJob!.untrusted).toBe(true);
    expect(evalJob!.source).toEqual({ type: "git", url: FORK.cloneUrl, ref: head });
    expect(evalJob!.ci_source).toEqual({ type: "git", url: "https://github.example/acme/forks", ref: BASE_SHA });
    expect(runs.map((r) => r.status)).toEqual(["awaiting_approval"]);
    expect((await jobsOf(runs[0]!.id)).length).toBe(0);
    await until(() => gh.latest("acme/forks", head)["reactorcide/ci"] === "pending", "pending ci status");
    const status = gh.statuses("acme/forks", head).findLast((s) => s.context === "reactorcide/ci")!;
    expect(status).toMatchObject({ description: "awaiting approval", target_url: `https://ci.example/workflows/${runs[0]!.id}` });
    await until(() => gh.comments("acme/forks", 31)[0]?.body.includes("Waiting for approval") ?? false, "summary comment");
    expect(gh.comments("acme/forks", 31)[0]!.body).toContain("changes it makes to CI files (`.reactorcide/`) were not used");
    const view = await api.call("GET", `/api/v1/workflows/${runs[0]!.id}`);
    expect(view.json.fork_pr).toEqual({ pr_number: 31, head_sha: head, base_sha: BASE_SHA, head_repo_url: FORK.cloneUrl, author: expect.any(String), maintainer: false, approval: null });
    // The deploy secret is not one of fork_pr_secrets: withheld, and the eval job's log says so.
    const log = await api.call("GET", `/api/v1/jobs/${delivery.eval_job_id}/logs`);
    expect(log.text).toContain("workflow ci: job deploy: secret DEPLOY_KEY withheld");
  });

  test("approve (write role): the run starts untrusted, with network none and only fork_pr_secrets; in the audit log; approving twice is a conflict", async () => {
    const head = "2".repeat(40);
    const { runs } = await forkPrRuns(32, head);
    const run = runs[0]!;
    const approved = await api.call("POST", `/api/v1/workflows/${run.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ status: "running", fork_pr: { approval: { decision: "approved", by: "admin", via: "api" } } });
    const [test] = await jobsOf(run.id);
    expect(test).toMatchObject({ untrusted: true, network: "none", secret_refs: ["TEST_TOKEN"] });
    expect(test!.source).toEqual({ type: "git", url: FORK.cloneUrl, ref: head });
    await runJobAsWorker(api, test!.id, "success");
    const [, deploy] = await jobsOf(run.id);
    expect(deploy).toMatchObject({ untrusted: true, network: "none", secret_refs: [] });
    const [audit] = await api.sql`SELECT * FROM audit_log WHERE action = 'workflow.approve' AND target_id = ${run.id}`;
    expect(audit!.details).toMatchObject({ pr_number: 32, head_sha: head, base_sha: BASE_SHA, by: "admin", via: "api", runs: [run.id] });
    const again = await api.call("POST", `/api/v1/workflows/${run.id}/approve`);
    expect(again.status).toBe(409);
    expect(again.json.error.field).toBe("status");
    const decline = await api.call("POST", `/api/v1/workflows/${run.id}/decline`);
    expect(decline.status).toBe(409);
  });

  test("hostile callers: a read-only member gets 403, a user of another project 404, an ordinary run 409; nothing starts", async () => {
    const head = "3".repeat(40);
    const { runs } = await forkPrRuns(33, head);
    const reader = await api.tokenFor("fork-reader");
    await api.call("PUT", "/api/v1/projects/forks/members/fork-reader", { body: { role: "read" } });
    const stranger = await api.tokenFor("fork-stranger");
    await api.call("POST", "/api/v1/projects", { body: { name: "strangers-own" }, token: stranger });
    expect((await api.call("POST", `/api/v1/workflows/${runs[0]!.id}/approve`, { token: reader })).status).toBe(403);
    expect((await api.call("POST", `/api/v1/workflows/${runs[0]!.id}/approve`, { token: stranger })).status).toBe(404);
    expect((await api.call("POST", `/api/v1/workflows/${runs[0]!.id}/decline`, { token: stranger })).status).toBe(404);
    expect((await api.call("POST", `/api/v1/workflows/not-a-uuid/approve`)).status).toBe(404);
    expect((await runsOf(head))[0]!.status).toBe("awaiting_approval");
    expect((await jobsOf(runs[0]!.id)).length).toBe(0);
    const own = await api.call("POST", "/api/v1/workflows", { body: { project: "strangers-own", workflow: "name: w\njobs:\n  - name: a\n    command: echo hi\n" }, token: stranger });
    expect(own.status).toBe(201);
    expect((await api.call("POST", `/api/v1/workflows/${own.json.id}/approve`, { token: stranger })).status).toBe(409);
  });

  test("decline: the runs end failure \"declined by <who>\", no job starts, the commit status says so, audited", async () => {
    const head = "4".repeat(40);
    const { runs } = await forkPrRuns(34, head);
    const declined = await api.call("POST", `/api/v1/workflows/${runs[0]!.id}/decline`);
    expect(declined.json).toMatchObject({ status: "failure", reason: "declined by admin" });
    expect(declined.json.nodes.map((n: { status: string }) => n.status)).toEqual(["cancelled", "cancelled"]);
    expect((await jobsOf(runs[0]!.id)).length).toBe(0);
    await until(() => gh.latest("acme/forks", head)["reactorcide/ci"] === "failure", "failure status");
    expect(gh.statuses("acme/forks", head).findLast((s) => s.context === "reactorcide/ci")!.description).toBe("declined by admin");
    expect((await api.sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'workflow.decline' AND target_id = ${runs[0]!.id}`)[0]!.n).toBe(1);
  });

  test("approve head A, then a push makes head B: B waits for its own approval; A's never runs B", async () => {
    const a = "5".repeat(40);
    const b = "6".repeat(40);
    const first = await forkPrRuns(35, a);
    await api.call("POST", `/api/v1/workflows/${first.runs[0]!.id}/approve`);
    const second = await forkPrRuns(35, b, { action: "synchronize" });
    expect(second.runs.map((r) => r.status)).toEqual(["awaiting_approval"]);
    expect((await jobsOf(second.runs[0]!.id)).length).toBe(0);
    const [aJob] = await jobsOf(first.runs[0]!.id);
    expect(aJob!.source.ref).toBe(a);
  });

  test("a comment /reactorcide approve: honoured for a user with write access (asked of the stand-in), ignored and logged for anyone else; for the newest head only", async () => {
    const head = "7".repeat(40);
    const { runs } = await forkPrRuns(36, head);
    gh.setPermission("acme/forks", "triager", "triage");
    gh.setPermission("acme/forks", "maintainer-m", "maintain");
    const mallory = await deliver("issue_comment", githubIssueComment(REPO, { number: 36, body: "/reactorcide approve", login: "mallory" }));
    expect(mallory).toMatchObject({ outcome: "ignored" });
    expect(mallory.reason).toContain("github:mallory has no write access to acme/forks");
    expect(logs.some((l) => l.includes("github:mallory has no write access"))).toBe(true);
    const triager = await deliver("issue_comment", githubIssueComment(REPO, { number: 36, body: "LGTM\n/reactorcide approve", login: "triager" }));
    expect(triager.outcome).toBe("ignored");
    expect((await runsOf(head))[0]!.status).toBe("awaiting_approval");
    const asked = gh.calls.filter((c) => c.path === "/repos/acme/forks/collaborators/mallory/permission");
    expect(asked.length).toBe(1);
    expect(asked[0]!.status).toBe(200);
    const ok = await deliver("issue_comment", githubIssueComment(REPO, { number: 36, body: "thanks!\n/reactorcide approve", login: "maintainer-m" }));
    expect(ok).toMatchObject({ outcome: "accepted" });
    expect((await runsOf(head))[0]!.status).toBe("running");
    const [audit] = await api.sql`SELECT * FROM audit_log WHERE action = 'workflow.approve' AND target_type = 'pull_request' AND target_id = 'acme/forks#36'`;
    expect(audit).toMatchObject({ user_id: null, details: { by: "github:maintainer-m", via: "comment", head_sha: head, base_sha: BASE_SHA } });
    // Twice: the first decision holds; the second comment is ignored, saying so.
    const twice = await deliver("issue_comment", githubIssueComment(REPO, { number: 36, body: "/reactorcide decline", login: "maintainer-m" }));
    expect(twice.outcome).toBe("ignored");
    expect(twice.reason).toContain("was already approved by github:maintainer-m");
    // Not a command, an edited comment, a comment on an issue: ignored before anything is asked.
    const plain = await deliver("issue_comment", githubIssueComment(REPO, { number: 36, body: "please /reactorcide approve this", login: "maintainer-m" }));
    expect(plain.outcome).toBe("ignored");
    const edited = await deliver("issue_comment", githubIssueComment(REPO, { number: 36, body: "/reactorcide approve", login: "maintainer-m", action: "edited" }));
    expect(edited.outcome).toBe("ignored");
  });

  test("a comment /reactorcide decline by a writer declines the waiting runs", async () => {
    const head = "8".repeat(40);
    await forkPrRuns(37, head);
    gh.setPermission("acme/forks", "owner-o", "admin");
    const d = await deliver("issue_comment", githubIssueComment(REPO, { number: 37, body: "/reactorcide decline", login: "owner-o" }));
    expect(d.outcome).toBe("accepted");
    expect((await runsOf(head))[0]).toMatchObject({ status: "failure", reason: "declined by github:owner-o" });
  });

  test("a comment approving before the eval has made its runs: they start when made", async () => {
    const head = "9".repeat(40);
    const d = await deliver("pull_request", pr(38, head));
    gh.setPermission("acme/forks", "owner-o", "admin");
    expect((await deliver("issue_comment", githubIssueComment(REPO, { number: 38, body: "/reactorcide approve", login: "owner-o" }))).outcome).toBe("accepted");
    await runJobAsWorker(api, d.eval_job_id, "success", WORKFLOW);
    const [run] = await runsOf(head);
    expect(run!.status).toBe("running");
    expect((await jobsOf(run!.id))[0]).toMatchObject({ secret_refs: ["TEST_TOKEN"], untrusted: true });
  });

  test("a maintainer's fork pull request (author_association MEMBER) runs at once, untrusted and without secrets; with fork_pr_trust_maintainers false it waits", async () => {
    const head = "a1".repeat(20);
    const { runs } = await forkPrRuns(39, head, { association: "MEMBER" });
    expect(runs[0]!.status).toBe("running");
    expect((await jobsOf(runs[0]!.id))[0]).toMatchObject({ untrusted: true, secret_refs: [] });
    await api.call("PATCH", "/api/v1/projects/forks", { body: { fork_pr_trust_maintainers: false } });
    try {
      const other = await forkPrRuns(40, "a2".repeat(20), { association: "COLLABORATOR" });
      expect(other.runs[0]!.status).toBe("awaiting_approval");
    } finally {
      await api.call("PATCH", "/api/v1/projects/forks", { body: { fork_pr_trust_maintainers: true } });
    }
  });

  test("a same-repository pull request is not a fork's: it runs at once with the secrets its jobs name", async () => {
    const head = "a3".repeat(20);
    const { runs } = await forkPrRuns(41, head, { association: "CONTRIBUTOR", head: REPO } as never);
    expect(runs[0]!.status).toBe("running");
    expect((await jobsOf(runs[0]!.id))[0]).toMatchObject({ untrusted: false, secret_refs: ["TEST_TOKEN"], network: "default" });
  });
});

describe("policies never and always (GitHub stand-in)", () => {
  test("never: no eval job; the delivery is filtered and the commit status says why", async () => {
    await api.call("PATCH", "/api/v1/projects/forks", { body: { fork_pr_policy: "never" } });
    try {
      const head = "c1".repeat(20);
      const d = await deliver("pull_request", pr(50, head));
      expect(d).toMatchObject({ outcome: "filtered", eval_job_id: null, reason: "fork pull requests do not run in this project (fork_pr_policy: never)" });
      await until(() => gh.latest("acme/forks", head)["reactorcide/eval"] === "failure", "never status");
      expect(gh.statuses("acme/forks", head)[0]!.description).toBe("fork pull requests do not run in this project (fork_pr_policy: never)");
      expect((await runsOf(head)).length).toBe(0);
    } finally {
      await api.call("PATCH", "/api/v1/projects/forks", { body: { fork_pr_policy: "approval" } });
    }
  });

  test("always: runs at once, untrusted, without the secrets fork_pr_secrets lists (no approval gave them)", async () => {
    await api.call("PATCH", "/api/v1/projects/forks", { body: { fork_pr_policy: "always" } });
    try {
      const { runs } = await forkPrRuns(51, "c2".repeat(20));
      expect(runs[0]!.status).toBe("running");
      expect((await jobsOf(runs[0]!.id))[0]).toMatchObject({ untrusted: true, secret_refs: [], network: "none" });
    } finally {
      await api.call("PATCH", "/api/v1/projects/forks", { body: { fork_pr_policy: "approval" } });
    }
  });
});

describe("GitLab (GitLab stand-in): members asked through the members API", () => {
  test("a member's (Developer) fork merge request runs at once; another's waits; a Reporter's note is ignored, a Developer's note approves", async () => {
    await api.call("POST", "/api/v1/projects", {
      body: { name: "forks-gl", vcs_provider: "gitlab", repo_url: "https://gitlab.example/group/forks.git", webhook_secret: "gl-forks-token", vcs_token: "glpat-forks", vcs_api_url: `${gl.url}/api/v4` },
    });
    const project = gitlabProject(88, "http://172.17.0.1:9/group/forks.git", "group/forks");
    const fork = gitlabProject(99, "http://172.17.0.1:9/mallory/forks.git", "mallory/forks");
    gl.setMember("88", { id: 7, username: "dev" }, 30);
    gl.setMember("88", { id: 8, username: "reporter" }, 20);
    const glDeliver = (event: string, payload: unknown) => deliverAndProcess(api, vcs, { provider: "gitlab", secret: "gl-forks-token", event, payload });
    const member = await glDeliver("Merge Request Hook", gitlabMergeRequest(project, { action: "open", iid: 3, target: "main", source: "f", sha: "d1".repeat(20), sourceProject: fork, authorId: 7 }));
    expect(member.mapped).toMatchObject({ isFork: true, maintainer: true });
    await runJobAsWorker(api, member.eval_job_id, "success", WORKFLOW);
    expect((await runsOf("d1".repeat(20)))[0]!.status).toBe("running");

    const sha = "d2".repeat(20);
    const outsider = await glDeliver("Merge Request Hook", gitlabMergeRequest(project, { action: "open", iid: 4, target: "main", source: "f", sha, sourceProject: fork, authorId: 666 }));
    expect(outsider.mapped).toMatchObject({ isFork: true, maintainer: false });
    await runJobAsWorker(api, outsider.eval_job_id, "success", WORKFLOW);
    expect((await runsOf(sha))[0]!.status).toBe("awaiting_approval");
    await until(() => gl.latest("88", sha)["reactorcide/ci"] === "pending", "pending on GitLab");
    expect(gl.statuses("88", sha).findLast((s) => s.name === "reactorcide/ci")!.description).toBe("awaiting approval");

    const reporter = await glDeliver("Note Hook", gitlabNote(project, { iid: 4, body: "/reactorcide approve", user: { id: 8, username: "reporter" }, sha, sourceProject: fork }));
    expect(reporter.outcome).toBe("ignored");
    expect(reporter.reason).toContain("gitlab:reporter has no write access");
    const stranger = await glDeliver("Note Hook", gitlabNote(project, { iid: 4, body: "/reactorcide approve", user: { id: 1234, username: "nobody" }, sha, sourceProject: fork }));
    expect(stranger.outcome).toBe("ignored");
    expect((await runsOf(sha))[0]!.status).toBe("awaiting_approval");
    // A note naming a head the merge request never had approves nothing.
    const stale = await glDeliver("Note Hook", gitlabNote(project, { iid: 4, body: "/reactorcide approve", user: { id: 7, username: "dev" }, sha: "e".repeat(40), sourceProject: fork }));
    expect(stale.outcome).toBe("ignored");
    const dev = await glDeliver("Note Hook", gitlabNote(project, { iid: 4, body: "/reactorcide approve", user: { id: 7, username: "dev" }, sha, sourceProject: fork }));
    expect(dev.outcome).toBe("accepted");
    expect((await runsOf(sha))[0]!.status).toBe("running");
    expect(gl.calls.filter((c) => c.path.startsWith("/api/v4/projects/88/members/all/")).every((c) => c.headers["private-token"] === "glpat-forks")).toBe(true);
  });
});

describe("no secret value anywhere a fork pull request reaches", () => {
  test("statuses, comments and stand-in calls hold none", () => {
    const seen = JSON.stringify([gh.calls, gl.calls]);
    expect(seen).not.toContain("test-token-value");
    expect(seen).not.toContain("deploy-key-value");
  });
});
