/**
 * From a delivery to the commit: the eval job's triggers (as the worker hands them over) become
 * one workflow run per workflow file, and each shows on the commit at the GitHub stand-in (checked
 * against @octokit/openapi) as reactorcide/<workflow>, pending then its end; the pull request
 * gets one summary comment, edited in place. Jobs are moved by the job store as a worker would.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { transitionJob } from "../jobs/store.ts";
import { testApi } from "../testing/api.ts";
import { startVcsServices, type VcsServices } from "./services.ts";
import { githubHeaders, githubPullRequest, githubPush } from "./testing/payloads.ts";
import { startGithubStandIn, type GithubStandIn } from "./testing/github-standin.ts";
import type { TriggerJob } from "../../runner/protocol/trigger.ts";

const SECRET = "flow-hook-secret";
const REPO = { cloneUrl: "http://172.17.0.1:9/acme/flow.git", fullName: "acme/flow" };
let api: Awaited<ReturnType<typeof testApi>>;
let gh: GithubStandIn;
let vcs: VcsServices;

beforeAll(async () => {
  let kick = () => {};
  api = await testApi({ vcs: { deliveryRecorded: () => kick() } });
  gh = startGithubStandIn({ token: "ghp_flow" });
  vcs = await startVcsServices({ db: api.db, sql: api.sql, queue: api.deps.queue, keys: [api.deps.key], publicUrl: "https://ci.example", baseBackoffMs: 50 });
  kick = () => vcs.deliveryRecorded();
  vcs.sync.followRuns(api.workflows.events);
  await api.call("POST", "/api/v1/projects", { body: { name: "flow", repo_url: "https://github.example/acme/flow", webhook_secret: SECRET, vcs_token: "ghp_flow", vcs_api_url: gh.url } });
  await api.call("PUT", "/api/v1/projects/flow/secrets/REGISTRY_TOKEN", { body: { value: "registry-secret-value" } });
});
afterAll(async () => {
  await vcs?.stop();
  gh?.stop();
  await api?.close();
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

async function deliver(event: string, payload: unknown) {
  const body = JSON.stringify(payload);
  const r = await api.call("POST", "/api/v1/webhooks/github", { body, headers: await githubHeaders(SECRET, event, body), token: null });
  expect(r.status).toBe(202);
  await vcs.processor.drain();
  return (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
}

/** What a worker does with a job: start it, hand over its triggers, end it. */
async function runJob(id: string, status: "success" | "failure", triggers?: TriggerJob[]) {
  expect((await transitionJob(api.db, id, "running", { workerId: "w" })).ok).toBe(true);
  if (triggers) await api.workflows.extendFromTrigger(id, { type: "trigger_job", operation_id: randomUUID(), jobs: triggers }, "file");
  expect((await transitionJob(api.db, id, status, { exitCode: status === "success" ? 0 : 1 })).ok).toBe(true);
  await api.workflows.jobEnded(id);
}

const jobsOf = (runName: string) =>
  api.sql`SELECT j.* FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.name = ${runName} ORDER BY j.created_at`;

describe("event → eval → workflow runs → commit statuses (GitHub stand-in)", () => {
  test("a push: one run per workflow file, named after it; pending then success on the pushed SHA; the eval job's status too", async () => {
    const sha = "1".repeat(40);
    const d = await deliver("push", githubPush(REPO, { ref: "refs/heads/main", before: "2".repeat(40), after: sha }));
    await until(() => gh.latest("acme/flow", sha)["reactorcide/eval"] === "pending", "pending eval status");
    const evalJob = d.eval_job_id as string;
    await runJob(evalJob, "success", [
      { job_name: "test", workflow: "ci", job_command: "make test" },
      { job_name: "build", workflow: "ci", depends_on: ["test"], job_command: "make build", secrets: ["REGISTRY_TOKEN"] },
      { job_name: "docs", workflow: "docs", job_command: "make docs" },
    ]);
    const runs = await api.sql`SELECT r.* FROM workflow_runs r WHERE r.commit_sha = ${sha} ORDER BY r.name`;
    expect(runs.map((r) => [r.name, r.event, r.ref])).toEqual([
      ["ci", "push", "main"],
      ["docs", "push", "main"],
    ]);
    await until(() => gh.latest("acme/flow", sha)["reactorcide/ci"] === "pending" && gh.latest("acme/flow", sha)["reactorcide/eval"] === "success", "pending ci");
    const [test] = await jobsOf("ci");
    expect(test!.env).toMatchObject({ REACTORCIDE_EVENT_TYPE: "push", REACTORCIDE_SHA: sha, REACTORCIDE_BRANCH: "main" });
    expect(test!.secret_refs).toEqual([]);
    await runJob(test!.id, "success");
    const build = (await jobsOf("ci"))[1]!;
    // The eval job of an event from the project's own repository may hand out a project secret its job names.
    expect(build.secret_refs).toEqual(["REGISTRY_TOKEN"]);
    await runJob(build.id, "success");
    await runJob((await jobsOf("docs"))[0]!.id, "failure");
    await until(() => gh.latest("acme/flow", sha)["reactorcide/ci"] === "success" && gh.latest("acme/flow", sha)["reactorcide/docs"] === "failure", "final statuses");
    const ci = gh.statuses("acme/flow", sha).filter((s) => s.context === "reactorcide/ci");
    expect(ci[0]!.state).toBe("pending");
    expect(ci.at(-1)).toMatchObject({ state: "success", target_url: `https://ci.example/workflows/${runs[0]!.id}` });
    expect(ci.at(-1)!.description).toContain("2 of 2 jobs done");
    expect(gh.statuses("acme/flow", sha).find((s) => s.context === "reactorcide/eval" && s.state === "success")!.description).toBe("started 2 workflow runs");
    // No secret value reaches a status.
    expect(JSON.stringify(gh.calls)).not.toContain("registry-secret-value");
  });

  test("an eval's triggers sent again (the worker's retry after a lost answer) start nothing new and answer with the run the first send started", async () => {
    const sha = "3".repeat(40);
    const d = await deliver("push", githubPush(REPO, { ref: "refs/heads/main", before: "4".repeat(40), after: sha }));
    const evalJob = d.eval_job_id as string;
    expect((await transitionJob(api.db, evalJob, "running", { workerId: "w" })).ok).toBe(true);
    const payload = { type: "trigger_job" as const, operation_id: randomUUID(), jobs: [{ job_name: "test", workflow: "ci", job_command: "make test" }] };
    const first = await api.workflows.extendFromTrigger(evalJob, payload, "file");
    const again = await api.workflows.extendFromTrigger(evalJob, payload, "api");
    expect(first.created).toEqual(["test"]);
    expect(again).toEqual({ runId: first.runId, created: [], duplicates: 1 });
    expect(again.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await transitionJob(api.db, evalJob, "success", { exitCode: 0 })).ok).toBe(true);
    await api.workflows.jobEnded(evalJob);
  });

  test("a job naming a secret the project does not have fails its workflow's run before it starts, naming it; the other workflow runs", async () => {
    const sha = "3".repeat(40);
    const d = await deliver("push", githubPush(REPO, { ref: "refs/heads/main", before: "2".repeat(40), after: sha }));
    await runJob(d.eval_job_id, "success", [
      { job_name: "deploy", workflow: "deploy", job_command: "make deploy", secrets: ["NOT_A_SECRET"] },
      { job_name: "test", workflow: "ci", job_command: "make test" },
    ]);
    const [deploy] = await api.sql`SELECT * FROM workflow_runs WHERE commit_sha = ${sha} AND name = 'deploy'`;
    expect(deploy).toMatchObject({ status: "failure" });
    expect(deploy!.reason).toContain("the project has no secret NOT_A_SECRET");
    expect((await jobsOf("deploy")).length).toBe(0);
    await until(() => gh.latest("acme/flow", sha)["reactorcide/deploy"] === "failure", "deploy failure status");
    expect(gh.statuses("acme/flow", sha).find((s) => s.context === "reactorcide/deploy")!.description).toContain("NOT_A_SECRET");
    const ci = (await api.sql`SELECT j.id FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.commit_sha = ${sha} AND r.name = 'ci'`)[0]!;
    await runJob(ci.id, "success");
    await until(() => gh.latest("acme/flow", sha)["reactorcide/ci"] === "success", "ci success");
  });

  test("a pull request gets one summary comment, edited in place as its jobs end; a fork's jobs get no secrets and run untrusted", async () => {
    const head = "4".repeat(40);
    const fork = { cloneUrl: "https://github.example/mallory/flow.git", fullName: "mallory/flow" };
    const d = await deliver("pull_request", githubPullRequest(REPO, { action: "opened", number: 21, baseRef: "main", baseSha: "5".repeat(40), headRef: "x", headSha: head, head: fork }));
    await runJob(d.eval_job_id, "success", [
      { job_name: "test", workflow: "ci", job_command: "make test" },
      { job_name: "steal", workflow: "steal", job_command: "env", secrets: ["REGISTRY_TOKEN"] },
    ]);
    const [run] = await api.sql`SELECT * FROM workflow_runs WHERE commit_sha = ${head} AND name = 'ci'`;
    expect(run!.context.untrusted).toBe(true);
    // The example's author is the repository's OWNER (a maintainer): the runs start at once, and a
    // secret its job names is withheld (fork-pr.test.ts has the policies and approvals).
    const [steal] = await api.sql`SELECT * FROM workflow_runs WHERE commit_sha = ${head} AND name = 'steal'`;
    expect(steal!.status).toBe("running");
    expect((await api.sql`SELECT secret_refs FROM jobs WHERE workflow_run_id = ${steal!.id}`)[0]!.secret_refs).toEqual([]);
    const test = (await api.sql`SELECT * FROM jobs WHERE workflow_run_id = ${run!.id}`)[0]!;
    expect(test.source).toEqual({ type: "git", url: fork.cloneUrl, ref: head });
    expect(test.ci_source).toEqual({ type: "git", url: "https://github.example/acme/flow", ref: "5".repeat(40) });
    await until(() => gh.comments("acme/flow", 21).length === 1 && gh.comments("acme/flow", 21)[0]!.body.includes("#### [ci]"), "summary comment");
    await runJob(test.id, "success");
    await until(() => gh.comments("acme/flow", 21)[0]!.body.includes("✅ success"), "edited summary");
    const comments = gh.comments("acme/flow", 21);
    expect(comments.length).toBe(1);
    expect(comments[0]!.body).toContain(`[test](https://ci.example/jobs/${test.id})`);
    expect(comments[0]!.body).toContain("#### [steal]");
  });

  test("a workflow run cancelled is `error` on GitHub, never left pending", async () => {
    const sha = "6".repeat(40);
    const d = await deliver("push", githubPush(REPO, { ref: "refs/heads/main", before: "2".repeat(40), after: sha }));
    await runJob(d.eval_job_id, "success", [{ job_name: "slow", workflow: "slow", job_command: "sleep 100" }]);
    const [run] = await api.sql`SELECT * FROM workflow_runs WHERE commit_sha = ${sha}`;
    await until(() => gh.latest("acme/flow", sha)["reactorcide/slow"] === "pending", "pending");
    await api.workflows.cancel(run!.id, "admin");
    await until(() => gh.latest("acme/flow", sha)["reactorcide/slow"] === "error", "error status after cancel");
  });
});

describe("the same on GitLab (GitLab stand-in)", () => {
  test("a merge request: eval and workflow statuses with GitLab's states, a canceled run, one note edited in place", async () => {
    const { startGitlabStandIn } = await import("./testing/gitlab-standin.ts");
    const { gitlabHeaders, gitlabMergeRequest, gitlabProject } = await import("./testing/payloads.ts");
    const gl = startGitlabStandIn({ token: "glpat-flow" });
    try {
      await api.call("POST", "/api/v1/projects", {
        body: { name: "flow-gl", vcs_provider: "gitlab", repo_url: "https://gitlab.example/group/flow.git", webhook_secret: "gl-flow-token", vcs_token: "glpat-flow", vcs_api_url: `${gl.url}/api/v4` },
      });
      const project = gitlabProject(77, "http://172.17.0.1:9/group/flow.git", "group/flow");
      const sha = "7".repeat(40);
      const body = JSON.stringify(gitlabMergeRequest(project, { action: "open", iid: 9, target: "main", source: "feature", sha }));
      const r = await api.call("POST", "/api/v1/webhooks/gitlab", { body, headers: gitlabHeaders("gl-flow-token", "Merge Request Hook"), token: null });
      expect(r.status).toBe(202);
      await vcs.processor.drain();
      const d = (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
      await until(() => gl.latest("77", sha)["reactorcide/eval"] === "pending", "pending eval");
      await runJob(d.eval_job_id, "success", [
        { job_name: "test", workflow: "ci", job_command: "make test" },
        { job_name: "slow", workflow: "slow", job_command: "sleep 100" },
      ]);
      const test = (await jobsOf("ci")).find((j) => j.env.REACTORCIDE_SHA === sha)!;
      await runJob(test.id, "success");
      const [slow] = await api.sql`SELECT * FROM workflow_runs WHERE commit_sha = ${sha} AND name = 'slow'`;
      await api.workflows.cancel(slow!.id, "admin");
      await until(() => gl.latest("77", sha)["reactorcide/ci"] === "success" && gl.latest("77", sha)["reactorcide/slow"] === "canceled" && gl.latest("77", sha)["reactorcide/eval"] === "success", "GitLab end states");
      await until(() => gl.notes("77", 9).length === 1 && gl.notes("77", 9)[0]!.body.includes("✅ success"), "merge request note");
      expect(gl.notes("77", 9).length).toBe(1);
      expect(gl.calls.every((c) => c.headers["private-token"] === "glpat-flow")).toBe(true);
    } finally {
      gl.stop();
    }
  });
});
