import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../testing/api.ts";
import { VcsReporter } from "./reporter.ts";
import { setCommitStatus, setSummaryComment, SUMMARY_MARKER } from "./reports.ts";
import { githubBodyProblems, githubOperation, startGithubStandIn, type GithubStandIn } from "./testing/github-standin.ts";
import { startGitlabStandIn, type GitlabStandIn } from "./testing/gitlab-standin.ts";

const TOKEN = "ghp_reporter_token";
let api: Awaited<ReturnType<typeof testApi>>;
let gh: GithubStandIn;
let gl: GitlabStandIn;
let projectId: string;
let glProjectId: string;
let reporter: VcsReporter;
let sha = 0;
const nextSha = () => (++sha).toString(16).padStart(40, "0");

beforeAll(async () => {
  api = await testApi();
  gh = startGithubStandIn({ token: TOKEN });
  gl = startGitlabStandIn({ token: "glpat-token" });
  projectId = (await api.call("POST", "/api/v1/projects", { body: { name: "rep", vcs_token: TOKEN, vcs_api_url: gh.url } })).json.id;
  glProjectId = (await api.call("POST", "/api/v1/projects", { body: { name: "rep-gl", vcs_provider: "gitlab", vcs_token: "glpat-token", vcs_api_url: `${gl.url}/api/v4` } })).json.id;
  reporter = new VcsReporter({ db: api.db, sql: api.sql, keys: [api.deps.key], baseBackoffMs: 50, maxBackoffMs: 400 });
});
afterAll(async () => {
  await reporter?.stop();
  gh?.stop();
  gl?.stop();
  await api?.close();
});

const status = (s: string, state: "pending" | "running" | "success" | "failure" | "error" | "cancelled", context = "reactorcide/ci", description = `${state} now`) =>
  setCommitStatus(api.db, projectId, "acme/web", { sha: s, context, state, description, targetUrl: "https://ci.example/workflows/1" });

async function until(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(20);
  }
}

describe("GitHub stand-in (requests checked against @octokit/openapi)", () => {
  test("knows GitHub's operations and refuses bodies its schema refuses", () => {
    const op = githubOperation("POST", `/repos/a/b/statuses/${"a".repeat(40)}`);
    expect(op).toEqual({ template: "/repos/{owner}/{repo}/statuses/{sha}" });
    expect("problem" in githubOperation("POST", "/repos/a/b/status/x")).toBe(true);
    expect(githubBodyProblems("POST", "/repos/{owner}/{repo}/statuses/{sha}", { state: "success", context: "c" })).toEqual([]);
    expect(githubBodyProblems("POST", "/repos/{owner}/{repo}/statuses/{sha}", { state: "cancelled" }).join()).toContain("allowed values");
    expect(githubBodyProblems("POST", "/repos/{owner}/{repo}/statuses/{sha}", {}).join()).toContain("state");
  });
});

describe("commit statuses through the outbox", () => {
  test("pending then success on the right SHA, with target_url and context; a cancelled run is error on GitHub", async () => {
    const s = nextSha();
    await status(s, "pending");
    await reporter.drain();
    await status(s, "success");
    await status(s, "cancelled", "reactorcide/other");
    await reporter.drain();
    expect(gh.statuses("acme/web", s).map((x) => [x.context, x.state])).toEqual([
      ["reactorcide/ci", "pending"],
      ["reactorcide/ci", "success"],
      ["reactorcide/other", "error"],
    ]);
    expect(gh.statuses("acme/web", s)[0]).toMatchObject({ target_url: "https://ci.example/workflows/1", description: "pending now" });
    const call = gh.calls.find((c) => c.path === `/repos/acme/web/statuses/${s}`)!;
    expect(call.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(call.status).toBe(201);
  });

  test("descriptions are cut to 140 characters (GitHub refuses longer ones)", async () => {
    const s = nextSha();
    await status(s, "failure", "reactorcide/ci", "x".repeat(300));
    await reporter.drain();
    expect(gh.statuses("acme/web", s)[0]!.description!.length).toBe(140);
  });

  test("the forge down for a while, then back: statuses arrive once it is, the latest state per context wins, none goes backwards", async () => {
    const s = nextSha();
    gh.down = true;
    reporter.start();
    await status(s, "pending", "reactorcide/eval");
    await status(s, "pending");
    reporter.kick();
    await until(async () => (await api.sql`SELECT attempts FROM vcs_reports WHERE target = ${`${s}/reactorcide/ci`}`)[0]!.attempts >= 2);
    await status(s, "running");
    await status(s, "success", "reactorcide/eval");
    await status(s, "success");
    reporter.kick();
    expect(gh.statuses("acme/web", s)).toEqual([]);
    const [row] = (await api.sql`SELECT * FROM vcs_reports WHERE target = ${`${s}/reactorcide/ci`}`) as any[];
    expect(row.last_error).toContain("503");
    gh.down = false;
    await until(() => gh.latest("acme/web", s)["reactorcide/ci"] === "success" && gh.latest("acme/web", s)["reactorcide/eval"] === "success");
    for (const context of ["reactorcide/ci", "reactorcide/eval"]) {
      const seen = gh.statuses("acme/web", s).filter((x) => x.context === context).map((x) => x.state);
      expect(seen.at(-1)).toBe("success");
      expect(seen.indexOf("pending") === -1 || seen.indexOf("pending") < seen.indexOf("success")).toBe(true);
    }
    await reporter.stop();
  });

  test("a rate limit's Retry-After is honoured", async () => {
    const s = nextSha();
    gh.rateLimit(1, 1);
    await status(s, "pending");
    const began = Date.now();
    await reporter.drain();
    expect(gh.statuses("acme/web", s)).toEqual([]);
    const [row] = (await api.sql`SELECT next_attempt_at, last_error FROM vcs_reports WHERE target = ${`${s}/reactorcide/ci`}`) as any[];
    expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThanOrEqual(began + 900);
    expect(row.last_error).toContain("429");
    reporter.start();
    await until(() => gh.statuses("acme/web", s).length === 1);
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
    await reporter.stop();
  });

  test("what one reporter could not send, the next one (after a restart) sends", async () => {
    const s = nextSha();
    gh.down = true;
    await status(s, "failure");
    await reporter.drain();
    gh.down = false;
    await api.sql`UPDATE vcs_reports SET next_attempt_at = now() WHERE target = ${`${s}/reactorcide/ci`}`;
    const restarted = new VcsReporter({ db: api.db, sql: api.sql, keys: [api.deps.key] });
    await restarted.drain();
    expect(gh.latest("acme/web", s)).toEqual({ "reactorcide/ci": "failure" });
  });

  test("a refusal that retrying cannot fix (a wrong token) is given up after a few tries, with why", async () => {
    const bad = (await api.call("POST", "/api/v1/projects", { body: { name: "rep-bad", vcs_token: "wrong", vcs_api_url: gh.url } })).json.id;
    const s = nextSha();
    await setCommitStatus(api.db, bad, "acme/web", { sha: s, context: "reactorcide/ci", state: "pending", description: "x" });
    for (let i = 0; i < 6; i++) {
      await api.sql`UPDATE vcs_reports SET next_attempt_at = now() WHERE project_id = ${bad}`;
      await reporter.drain();
    }
    const [row] = (await api.sql`SELECT * FROM vcs_reports WHERE project_id = ${bad}`) as any[];
    expect(row.failed_at).not.toBeNull();
    expect(row.last_error).toContain("401");
    expect(row.attempts).toBe(5);
  });
});

describe("pull request summary comment", () => {
  test("created once, then edited in place; a comment made before a crash lost its id is found by its marker", async () => {
    await setSummaryComment(api.db, projectId, "acme/web", 7, "first");
    await reporter.drain();
    expect(gh.comments("acme/web", 7).length).toBe(1);
    await setSummaryComment(api.db, projectId, "acme/web", 7, "second");
    await reporter.drain();
    expect(gh.comments("acme/web", 7)).toEqual([{ id: expect.any(Number), body: `${SUMMARY_MARKER}\nsecond` }]);
    await api.sql`UPDATE vcs_reports SET remote_id = NULL WHERE kind = 'comment'`;
    await setSummaryComment(api.db, projectId, "acme/web", 7, "third");
    await reporter.drain();
    expect(gh.comments("acme/web", 7).map((c) => c.body)).toEqual([`${SUMMARY_MARKER}\nthird`]);
    expect(gh.calls.filter((c) => c.method === "PATCH").length).toBe(2);
  });
});

describe("GitLab stand-in", () => {
  test("GitLab's states: running, failed, canceled; a repeated state GitLab refuses counts as delivered; notes edited in place", async () => {
    const s = nextSha();
    const set = (state: "pending" | "running" | "failure" | "cancelled", context = "reactorcide/ci") =>
      setCommitStatus(api.db, glProjectId, "321", { sha: s, context, state, description: state });
    await set("pending");
    await reporter.drain();
    await set("running");
    await reporter.drain();
    await set("failure");
    await set("cancelled", "reactorcide/other");
    await reporter.drain();
    expect(gl.statuses("321", s).map((x) => [x.name, x.status])).toEqual([
      ["reactorcide/ci", "pending"],
      ["reactorcide/ci", "running"],
      ["reactorcide/ci", "failed"],
      ["reactorcide/other", "canceled"],
    ]);
    // The same state again (a retry after a lost answer): refused by GitLab, done for us.
    await api.sql`UPDATE vcs_reports SET sent_version = 0 WHERE project_id = ${glProjectId} AND target = ${`${s}/reactorcide/other`}`;
    await reporter.drain();
    const [row] = (await api.sql`SELECT * FROM vcs_reports WHERE project_id = ${glProjectId} AND target = ${`${s}/reactorcide/other`}`) as any[];
    expect(row.sent_version).toBe(row.version);
    expect(gl.calls.at(-1)!.headers["private-token"]).toBe("glpat-token");
    await setSummaryComment(api.db, glProjectId, "321", 3, "one");
    await reporter.drain();
    await setSummaryComment(api.db, glProjectId, "321", 3, "two");
    await reporter.drain();
    expect(gl.notes("321", 3).map((n) => n.body)).toEqual([`${SUMMARY_MARKER}\ntwo`]);
  });
});
