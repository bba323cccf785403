/**
 * End to end through containers: `reactorcide serve` (its own process, a worker on the host's
 * Docker), a real git repository served to job containers over git's own protocol (git daemon
 * on the Docker bridge gateway, as a forge would), GitHub's example payloads adapted to it and
 * signed with @octokit/webhooks-methods, and the GitHub stand-in (checked against
 * @octokit/openapi) and GitLab stand-in receiving the statuses and the summary. Every job
 * here — the eval and the workflow jobs it triggers — runs in a container: signed webhook → eval
 * on the trusted checkout → workflow runs → job containers → one commit status per run and the
 * pull request summary comment.
 *
 * The repository's .reactorcide/ is written in Reactorcide's upstream spelling (triggers:, paths:
 * {include}, job_file, depends_on, `branches: ["v*"]` for tags).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { serveRepository, type GitServer } from "../../scripts/testing/git-daemon.ts";
import { dockerGateway } from "../../scripts/testing/images.ts";
import { crashableServe, type CrashableServe } from "../testing/crash-serve.ts";
import { startGithubStandIn, type GithubStandIn } from "./testing/github-standin.ts";
import { startGitlabStandIn, type GitlabStandIn } from "./testing/gitlab-standin.ts";
import { githubHeaders, githubPullRequest, githubPush, gitlabHeaders, gitlabMergeRequest, gitlabProject } from "./testing/payloads.ts";

const SECRET = "e2e-webhook-secret";
const GL_TOKEN = "e2e-gitlab-hook-token";
const REPO = "acme/e2e";
const ZERO = "0".repeat(40);

let repoDir: string;
let served: GitServer;
let github: GithubStandIn;
let gitlab: GitlabStandIn;
let daemon: CrashableServe;
let sql: postgres.Sql;
const sha: Record<"c0" | "c1" | "c2" | "c3" | "c4" | "c5", string> = { c0: "", c1: "", c2: "", c3: "", c4: "", c5: "" };

function git(...args: string[]): string {
  const r = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args], { cwd: repoDir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

function commit(files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repoDir, path)), { recursive: true });
    writeFileSync(join(repoDir, path), text);
  }
  git("add", "-A");
  git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD");
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 240_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) {
      const jobs = await sql`SELECT name, status, reason FROM jobs ORDER BY created_at`.catch(() => []);
      throw new Error(`timed out waiting for ${what}\njobs: ${JSON.stringify(jobs)}\n${daemon.current().output().slice(-3000)}`);
    }
    await Bun.sleep(250);
  }
}

async function sendGithub(event: string, payload: unknown, o: { delivery?: string; secret?: string } = {}) {
  const body = JSON.stringify(payload);
  const r = await fetch(`${daemon.current().url}/api/v1/webhooks/github`, { method: "POST", headers: await githubHeaders(o.secret ?? SECRET, event, body, o.delivery), body });
  return { status: r.status, json: (await r.json()) as { id: string; status: string; outcome: string | null; reason: string | null; duplicate: boolean } };
}

const latest = (s: string) => github.latest(REPO, s);
/** Every state a context went through on a commit, in the order the forge accepted them. */
const states = (s: string, context: string) => github.statuses(REPO, s).filter((x) => x.context === context).map((x) => x.state);
const contexts = (s: string) => Object.keys(latest(s)).sort();
const ended = (state: string | undefined) => state !== undefined && state !== "pending";
const runsOf = async (s: string) => [...(await sql<{ name: string; status: string; event: string }[]>`SELECT name, status, event FROM workflow_runs WHERE commit_sha = ${s} ORDER BY name`)];
const evalJobsOf = (s: string) => sql`SELECT id, status FROM jobs WHERE name = 'eval' AND env->>'REACTORCIDE_SHA' = ${s}`;

const WORKFLOWS = (image: string) => ({
  ".reactorcide/workflows/app.yaml": `name: app
description: unit tests, then the build
triggers:
  events: [push, pull_request_opened, pull_request_updated]
  branches: [main, broken]
paths:
  include: ["src/**"]
jobs:
  - name: unit
    job_file: unit.yaml
  - name: build
    job_file: build.yaml
    depends_on: [unit]
`,
  ".reactorcide/workflows/docs.yaml": `name: docs
triggers:
  events: [push, pull_request_opened, pull_request_updated]
  branches: [main]
paths:
  include: ["docs/**"]
jobs:
  - name: docs-check
    job_file: docs-check.yaml
`,
  ".reactorcide/workflows/merged.yaml": `name: merged
triggers:
  events: [pull_request_merged]
jobs:
  - name: after-merge
    job_file: after-merge.yaml
`,
  ".reactorcide/workflows/release.yaml": `name: release
triggers:
  events: [tag_created]
  branches: ["v*"]
jobs:
  - name: publish
    job_file: publish.yaml
`,
  ".reactorcide/jobs/unit.yaml": `name: unit\njob:\n  image: ${image}\n  command: sh -c 'test -f /job/src/src/app.txt && echo unit tests pass'\n`,
  ".reactorcide/jobs/build.yaml": `name: build\nenvironment: { TARGET: linux }\njob:\n  image: ${image}\n  command: sh -c 'echo building for $TARGET'\n`,
  ".reactorcide/jobs/docs-check.yaml": `job:\n  image: ${image}\n  command: echo docs are fine\n`,
  ".reactorcide/jobs/after-merge.yaml": `job:\n  image: ${image}\n  command: echo merged\n`,
  ".reactorcide/jobs/publish.yaml": `job:\n  image: ${image}\n  command: sh -c 'echo publishing $REACTORCIDE_TAG'\n`,
});

beforeAll(async () => {
  const image = await ensureRunnerImage();
  repoDir = mkdtempSync(join(tmpdir(), "rc-vcs-e2e-repo-"));
  git("init", "-q", "-b", "main");
  sha.c0 = commit({ ...WORKFLOWS(image), "src/app.txt": "v0\n", "docs/index.md": "# docs\n" }, "c0: CI definitions");
  sha.c1 = commit({ "src/app.txt": "v1\n" }, "c1: app change");
  git("tag", "v1.0.0");
  git("checkout", "-q", "-b", "feature");
  sha.c2 = commit({ "src/feature.txt": "feature\n" }, "c2: feature (src only)");
  git("checkout", "-q", "-b", "feature-docs");
  sha.c3 = commit({ "docs/feature.md": "# feature\n" }, "c3: feature docs");
  git("checkout", "-q", "-b", "broken", "main");
  sha.c4 = commit(
    {
      ".reactorcide/workflows/bad.yaml": "name: bad\njobs: [ { name: x\n",
      ".reactorcide/workflows/deploy.yaml": "name: deploy\ntriggers: { events: [push] }\njobs:\n  - name: deploy\n    job_file: no-such-job.yaml\n",
      "src/app.txt": "broken\n",
    },
    "c4: broken definitions",
  );
  git("checkout", "-q", "-b", "hotfix", "main");
  sha.c5 = commit({ "src/app.txt": "v2\n", "docs/index.md": "# docs v2\n" }, "c5: app and docs");
  git("checkout", "-q", "main");
  served = await serveRepository(repoDir, dockerGateway());
  expect(served.sha).toBe(sha.c1);

  github = startGithubStandIn({ token: "ghp_e2e" });
  gitlab = startGitlabStandIn({ token: "glpat-e2e" });
  daemon = await crashableServe("vcs_e2e", {
    flags: ["--runtime", "docker", "--default-image", image, "--concurrency", "2", "--public-url", "https://ci.example"],
    env: { CORNDOGS_URL: "" },
  });
  await daemon.start();
  sql = postgres(daemon.databaseUrl, { max: 2, onnotice: () => {} });
  const allowed = ["push", "pull_request_opened", "pull_request_updated", "tag_created", "pull_request_merged"];
  const gh = await daemon.call("POST", "/api/v1/projects", { name: "e2e", repo_url: served.url, webhook_secret: SECRET, vcs_token: "ghp_e2e", vcs_api_url: github.url, allowed_events: allowed });
  expect(gh.status).toBe(201);
  const gl = await daemon.call("POST", "/api/v1/projects", {
    name: "e2e-gl",
    vcs_provider: "gitlab",
    repo_url: served.url,
    webhook_secret: GL_TOKEN,
    vcs_token: "glpat-e2e",
    vcs_api_url: `${gitlab.url}/api/v4`,
  });
  expect(gl.status).toBe(201);
}, 300_000);

afterAll(async () => {
  await sql?.end();
  await daemon?.close();
  github?.stop();
  gitlab?.stop();
  served?.stop();
  if (repoDir) rmSync(repoDir, { recursive: true, force: true });
});

describe("VCS events end to end through containers (serve, Docker, git daemon, GitHub stand-in)", () => {
  test("a push: eval in a container on the trusted checkout, its workflow's jobs in containers; per workflow run one status on the pushed SHA, pending then success; a path filter that does not match runs nothing; a redelivery starts nothing", async () => {
    const delivery = crypto.randomUUID();
    const payload = githubPush({ cloneUrl: served.url, fullName: REPO }, { ref: "refs/heads/main", before: sha.c0, after: sha.c1 });
    const first = await sendGithub("push", payload, { delivery });
    expect(first.status).toBe(202);
    const forged = await sendGithub("push", payload, { secret: "not-the-secret" });
    expect(forged.status).toBe(401);
    const again = await sendGithub("push", payload, { delivery });
    expect({ status: again.status, duplicate: again.json.duplicate }).toEqual({ status: 200, duplicate: true });

    await until(() => latest(sha.c1)["reactorcide/app"] === "success" && latest(sha.c1)["reactorcide/eval"] === "success", "app and eval success on c1");
    // c0..c1 changed src/ only: app ran, docs did not (and left no status).
    expect(contexts(sha.c1)).toEqual(["reactorcide/app", "reactorcide/eval"]);
    expect(states(sha.c1, "reactorcide/eval")[0]).toBe("pending");
    expect(states(sha.c1, "reactorcide/app")[0]).toBe("pending");
    const final = github.statuses(REPO, sha.c1).filter((s) => s.context === "reactorcide/app").at(-1)!;
    const runs = await runsOf(sha.c1);
    expect(runs).toEqual([{ name: "app", status: "success", event: "push" }]);
    const [run] = await sql`SELECT id FROM workflow_runs WHERE commit_sha = ${sha.c1}`;
    expect(final).toMatchObject({ state: "success", description: "success: 2 of 2 jobs done", target_url: `https://ci.example/workflows/${run!.id}` });
    expect(github.statuses(REPO, sha.c1).find((s) => s.context === "reactorcide/eval" && s.state === "success")!.description).toBe("started 1 workflow run");
    // The redelivery started nothing: one eval job for this push.
    expect((await evalJobsOf(sha.c1)).length).toBe(1);
    const jobs = await sql`SELECT j.name, j.status, j.env->>'TARGET' AS target FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.commit_sha = ${sha.c1} ORDER BY j.created_at`;
    expect(jobs.map((j) => [j.name, j.status, j.target])).toEqual([
      ["unit", "success", null],
      ["build", "success", "linux"],
    ]);
    // The unit test really ran in its container on the source (its log says so).
    const unit = (await sql`SELECT j.id FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.commit_sha = ${sha.c1} AND j.name = 'unit'`)[0]!;
    expect((await daemon.call("GET", `/api/v1/jobs/${unit.id}/logs`)).text).toContain("unit tests pass");
  }, 300_000);

  test("a pull request opened (src/ changed: app runs, docs does not), then updated (docs/ too: both run): statuses on each head SHA, one summary comment edited in place", async () => {
    const pr = (action: string, head: string) => githubPullRequest({ cloneUrl: served.url, fullName: REPO }, { action, number: 5, baseRef: "main", baseSha: sha.c1, headRef: "feature", headSha: head });
    expect((await sendGithub("pull_request", pr("opened", sha.c2))).status).toBe(202);
    await until(() => latest(sha.c2)["reactorcide/app"] === "success" && ended(latest(sha.c2)["reactorcide/eval"]), "app success on the PR head");
    expect(contexts(sha.c2)).toEqual(["reactorcide/app", "reactorcide/eval"]);
    await until(() => github.comments(REPO, 5)[0]?.body.includes("✅ success") && github.comments(REPO, 5)[0]!.body.includes("[build]"), "summary comment with app's jobs");
    expect(github.comments(REPO, 5).length).toBe(1);
    expect(github.comments(REPO, 5)[0]!.body).not.toContain("docs-check");

    expect((await sendGithub("pull_request", pr("synchronize", sha.c3))).status).toBe(202);
    await until(() => latest(sha.c3)["reactorcide/app"] === "success" && latest(sha.c3)["reactorcide/docs"] === "success", "app and docs success on the new head");
    await until(() => {
      const body = github.comments(REPO, 5)[0]?.body ?? "";
      return body.includes(sha.c3.slice(0, 12)) && body.includes("[docs-check]") && !body.includes("🔄") && !body.includes("⏳");
    }, "the summary edited for the new head");
    const comments = github.comments(REPO, 5);
    expect(comments.length).toBe(1);
    expect(comments[0]!.body).toMatch(/#### \[app\]\(https:\/\/ci\.example\/workflows\/[0-9a-f-]+\)/);
    expect(comments[0]!.body).toMatch(/\| \[unit\]\(https:\/\/ci\.example\/jobs\/[0-9a-f-]+\) \| ✅ success \| \d+s \|/);
    // Created once (POST), then only edited (PATCH).
    const commentCalls = github.calls.filter((c) => c.path.includes("/issues/") && c.method !== "GET");
    expect(commentCalls.filter((c) => c.method === "POST").length).toBe(1);
    expect(commentCalls.filter((c) => c.method === "PATCH").length).toBeGreaterThan(0);
  }, 300_000);

  test("a pull request closed runs nothing (not in allowed_events: recorded filtered, with why); merged runs only the workflow for merges", async () => {
    const pr = (n: number, merged: boolean) =>
      githubPullRequest({ cloneUrl: served.url, fullName: REPO }, { action: "closed", merged, number: n, baseRef: "main", baseSha: sha.c1, headRef: "feature", headSha: sha.c2 });
    const closed = await sendGithub("pull_request", pr(6, false));
    expect(closed.status).toBe(202);
    expect(closed.json.outcome).toBe("filtered");
    expect(closed.json.reason).toContain("pull_request_closed is not in the project's allowed_events");
    const merged = await sendGithub("pull_request", pr(7, true));
    expect(merged.json.status).toBe("received");
    await until(async () => (await runsOf(sha.c2)).some((r) => r.name === "merged" && r.status === "success") && latest(sha.c2)["reactorcide/merged"] === "success", "merged workflow");
    // The merge ran only the merge workflow; the closed one started no eval job at all.
    const evals = await sql`SELECT env->>'REACTORCIDE_EVENT_TYPE' AS event FROM jobs WHERE name = 'eval' AND env->>'REACTORCIDE_SHA' = ${sha.c2} ORDER BY created_at`;
    expect(evals.map((e) => e.event)).toEqual(["pull_request_opened", "pull_request_merged"]);
    expect((await runsOf(sha.c2)).map((r) => `${r.name}:${r.event}`)).toEqual(["app:pull_request_opened", "merged:pull_request_merged"]);
  }, 300_000);

  test("a tag push runs the release workflow (its branches: [\"v*\"] matched against the tag), and nothing else", async () => {
    const r = await sendGithub("push", githubPush({ cloneUrl: served.url, fullName: REPO }, { ref: "refs/tags/v1.0.0", before: ZERO, after: sha.c1 }));
    expect(r.json.status).toBe("received");
    await until(() => latest(sha.c1)["reactorcide/release"] === "success", "release success");
    const runs = await runsOf(sha.c1);
    expect(runs.filter((x) => x.event === "tag_created")).toEqual([{ name: "release", status: "success", event: "tag_created" }]);
    const [publish] = await sql`SELECT j.id FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.commit_sha = ${sha.c1} AND r.name = 'release'`;
    expect((await daemon.call("GET", `/api/v1/jobs/${publish!.id}/logs`)).text).toContain("publishing v1.0.0");
  }, 300_000);

  test("eval problems (a file that is not YAML, a job file that does not exist) fail reactorcide/eval naming the file and the problem; the valid workflow still runs", async () => {
    const r = await sendGithub("push", githubPush({ cloneUrl: served.url, fullName: REPO }, { ref: "refs/heads/broken", before: sha.c1, after: sha.c4 }));
    expect(r.json.status).toBe("received");
    await until(() => ended(latest(sha.c4)["reactorcide/eval"]) && latest(sha.c4)["reactorcide/app"] === "success", "eval's end and app's success on the broken branch");
    const evalStatus = github.statuses(REPO, sha.c4).filter((s) => s.context === "reactorcide/eval").at(-1)!;
    expect(evalStatus.state).toBe("failure");
    expect(evalStatus.description!.length).toBeLessThanOrEqual(140);
    expect(evalStatus.description).toStartWith("CI definitions: .reactorcide/workflows/");
    expect(evalStatus.description).toContain("(and 1 more)");
    expect(evalStatus.description).toContain("started 1 workflow run");
    const [job] = await evalJobsOf(sha.c4);
    const log = (await daemon.call("GET", `/api/v1/jobs/${job!.id}/logs`)).text;
    expect(log).toContain("eval problem: .reactorcide/workflows/bad.yaml: not valid YAML");
    expect(log).toMatch(/eval problem: \.reactorcide\/workflows\/deploy\.yaml: .*no-such-job\.yaml/);
  }, 300_000);

  test("the forge down while statuses are due: kept in Postgres, retried, and sent once it is back — across kill -9 of the daemon; for each context the last state is the run's end", async () => {
    github.down = true;
    const r = await sendGithub("push", githubPush({ cloneUrl: served.url, fullName: REPO }, { ref: "refs/heads/main", before: sha.c1, after: sha.c5 }));
    expect(r.json.status).toBe("received");
    // c1..c5 changed src/ and docs/: both workflows run while the forge refuses every status.
    await until(async () => {
      const runs = await runsOf(sha.c5);
      const pushRuns = runs.filter((x) => x.event === "push");
      return pushRuns.length === 2 && pushRuns.every((x) => x.status === "success");
    }, "both runs of the push done while the forge is down");
    const [evalJob] = await sql`SELECT status FROM jobs WHERE name = 'eval' AND env->>'REACTORCIDE_SHA' = ${sha.c5} AND env->>'REACTORCIDE_EVENT_TYPE' = 'push'`;
    expect(evalJob!.status).toBe("success");
    await until(async () => (await sql`SELECT count(*)::int AS n FROM vcs_reports WHERE target LIKE ${`${sha.c5}/%`} AND version > sent_version`)[0]!.n === 3, "three statuses waiting in the outbox");
    expect(github.calls.some((c) => c.status === 503 && c.path === `/repos/${REPO}/statuses/${sha.c5}`)).toBe(true);
    const beforeKill = github.statuses(REPO, sha.c5);
    await daemon.kill();
    github.down = false;
    await daemon.start();
    await until(() => ["reactorcide/eval", "reactorcide/app", "reactorcide/docs"].every((c) => latest(sha.c5)[c] === "success"), "statuses after the forge is back and the daemon restarted", 120_000);
    expect(beforeKill.length).toBe(0);
    for (const c of ["reactorcide/eval", "reactorcide/app", "reactorcide/docs"]) expect(states(sha.c5, c).at(-1)).toBe("success");
    expect((await sql`SELECT count(*)::int AS n FROM vcs_reports WHERE target LIKE ${`${sha.c5}/%`} AND version > sent_version`)[0]!.n).toBe(0);
  }, 300_000);
});

describe("the same through containers on GitLab (GitLab stand-in)", () => {
  test("a merge request: eval and workflow jobs in containers, GitLab's states on the head SHA, one merge request note", async () => {
    const project = gitlabProject(4242, served.url, "acme/e2e-gl");
    const body = JSON.stringify(gitlabMergeRequest(project, { action: "open", iid: 3, target: "main", source: "feature", sha: sha.c2 }));
    const r = await fetch(`${daemon.current().url}/api/v1/webhooks/gitlab`, { method: "POST", headers: gitlabHeaders(GL_TOKEN, "Merge Request Hook"), body });
    expect(r.status).toBe(202);
    await until(() => gitlab.latest("4242", sha.c2)["reactorcide/app"] === "success" && gitlab.latest("4242", sha.c2)["reactorcide/eval"] === "success", "GitLab statuses");
    const app = gitlab.statuses("4242", sha.c2).filter((s) => s.name === "reactorcide/app").map((s) => s.status);
    expect(app[0]).toBe("pending");
    expect(app.at(-1)).toBe("success");
    await until(() => gitlab.notes("4242", 3).length === 1 && gitlab.notes("4242", 3)[0]!.body.includes("[build]") && !gitlab.notes("4242", 3)[0]!.body.includes("🔄"), "merge request note");
    expect(gitlab.notes("4242", 3)[0]!.body).toContain("✅ success");
    expect(gitlab.calls.every((c) => c.headers["private-token"] === "glpat-e2e")).toBe(true);
  }, 300_000);
});
