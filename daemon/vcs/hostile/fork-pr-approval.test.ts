/**
 * Attack tests 5, 6 and 8 of issue #14 through the real path (signed webhook → `reactorcide serve`
 * → eval in a runner container → workflow runs → job containers cloning the fork from `git
 * daemon`, the GitHub stand-in as the forge): under `fork_pr_policy: approval` a fork's runs wait
 * for a person; an approval holds for one head SHA only; a comment by someone without write access
 * is ignored; `never` runs nothing. Each ends with the leak scan of ./leaks.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { githubIssueComment } from "../testing/payloads.ts";
import { BASE_REPO, startHarness, type Harness } from "./harness.ts";
import { BASE_MARKS } from "./repos.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  const set = await h.api("PATCH", "/api/v1/projects/acme", { fork_pr_policy: "approval", fork_pr_trust_maintainers: true });
  if (set.status !== 200) throw new Error(`policy: ${set.status} ${set.text}`);
}, 300_000);

afterAll(async () => {
  await h?.stop();
});

const runsOf = async (sha: string) => [...(await h.sql<{ id: string; name: string; status: string; reason: string | null }[]>`SELECT id, name, status, reason FROM workflow_runs WHERE commit_sha = ${sha} ORDER BY name`)];
const jobsOfSha = async (sha: string) => [
  ...(await h.sql<{ name: string; status: string; untrusted: boolean; secret_refs: string[] }[]>`SELECT j.name, j.status, j.untrusted, j.secret_refs FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.commit_sha = ${sha}`),
];
const deliveryOf = async (id: string) => {
  for (let i = 0; i < 300; i++) {
    const [d] = await h.sql<{ status: string; outcome: string | null; reason: string | null }[]>`SELECT status, outcome, reason FROM webhook_deliveries WHERE delivery_id = ${id}`;
    if (d?.outcome) return d;
    await Bun.sleep(100);
  }
  throw new Error(`delivery ${id} was not processed`);
};
const comment = async (number: number, login: string, body: string) => {
  const delivery = crypto.randomUUID();
  const answer = await h.deliver("issue_comment", githubIssueComment({ cloneUrl: h.forge.baseUrl, fullName: BASE_REPO }, { number, body, login }), { delivery });
  expect(answer.status).toBe(202);
  return deliveryOf(delivery);
};

describe("fork pull requests awaiting approval (serve, Docker, git daemon, GitHub stand-in)", () => {
  test("5. approve head A: A's runs run, without secrets; push B: B waits for its own approval, and A's approval never runs B", async () => {
    const a = h.forge.pushFork("approve-a", { "scripts/test.sh": "echo 'head A ran'\n" }, "head A");
    expect((await h.pullRequest({ number: 61, headRef: "approve-a", headSha: a })).status).toBe(202);
    const waiting = await h.settle(a);
    expect(waiting.runs.map((r) => r.status)).toEqual(["awaiting_approval", "awaiting_approval"]);
    expect(waiting.jobs).toEqual([]);
    expect(h.gh.latest(BASE_REPO, a)["reactorcide/ci"]).toBe("pending");
    const statusA = h.gh.calls.filter((c) => c.method === "POST" && c.path === `/repos/${BASE_REPO}/statuses/${a}` && (c.body as any)?.context === "reactorcide/ci").at(-1)!;
    expect((statusA.body as any).description).toBe("awaiting approval");

    // A person approves, through the API.
    const approved = await h.api("POST", `/api/v1/workflows/${waiting.runs[0]!.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.json.fork_pr).toMatchObject({ pr_number: 61, head_sha: a, approval: { decision: "approved", via: "api" } });
    const ran = await h.settle(a, { runsEnded: true });
    expect(ran.runs.map((r) => r.status).sort()).toEqual(["success", "success"]);
    expect(ran.logs.test).toContain("head A ran");
    for (const j of ran.jobs) expect({ name: j.name, untrusted: j.untrusted, secrets: j.secret_refs }).toEqual({ name: j.name, untrusted: true, secrets: [] });
    const [audit] = await h.sql`SELECT details FROM audit_log WHERE action = 'workflow.approve' ORDER BY at DESC LIMIT 1`;
    expect(audit!.details).toMatchObject({ pr_number: 61, head_sha: a });

    // B is pushed to the same pull request: its runs wait; nothing of B runs on A's approval.
    const b = h.forge.pushFork("approve-a", { "scripts/test.sh": "echo 'head B ran'\nenv | rev\n" }, "head B");
    expect((await h.pullRequest({ number: 61, headRef: "approve-a", headSha: b, action: "synchronize" })).status).toBe(202);
    const bWaits = await h.settle(b);
    expect(bWaits.runs.map((r) => r.status)).toEqual(["awaiting_approval", "awaiting_approval"]);
    await Bun.sleep(2000);
    expect(await jobsOfSha(b)).toEqual([]);
    expect((await runsOf(b)).map((r) => r.status)).toEqual(["awaiting_approval", "awaiting_approval"]);
    // Approving A's run again is a conflict, and still starts nothing of B.
    expect((await h.api("POST", `/api/v1/workflows/${waiting.runs[0]!.id}/approve`)).status).toBe(409);
    expect(await jobsOfSha(b)).toEqual([]);

    // Declined: B's runs end failure "declined", no job of B ever ran.
    const declined = await h.api("POST", `/api/v1/workflows/${bWaits.runs[0]!.id}/decline`);
    expect(declined.status).toBe(200);
    const ended = await h.settle(b, { runsEnded: true });
    for (const r of ended.runs) expect({ status: r.status, reason: r.reason }).toEqual({ status: "failure", reason: expect.stringContaining("declined") });
    expect((await jobsOfSha(b)).filter((j) => j.status !== "cancelled")).toEqual([]);
    expect(h.gh.latest(BASE_REPO, b)["reactorcide/ci"]).toBe("failure");
    expect(await h.leaks()).toEqual([]);
  }, 300_000);

  test("6. `/reactorcide approve` by a user without write access: ignored (asked of the stand-in); by one with write access: the runs start", async () => {
    const sha = h.forge.pushFork("comment-approve", { "scripts/test.sh": "echo 'commented head ran'\n" }, "commented");
    expect((await h.pullRequest({ number: 62, headRef: "comment-approve", headSha: sha })).status).toBe(202);
    await h.settle(sha);
    h.gh.setPermission(BASE_REPO, "mallory", "read");
    h.gh.setPermission(BASE_REPO, "maintainer-m", "write");
    const mallory = await comment(62, "mallory", "/reactorcide approve");
    expect(mallory.outcome).toBe("ignored");
    expect(mallory.reason).toContain("no write access");
    // Nor one who can only triage.
    h.gh.setPermission(BASE_REPO, "triager", "triage");
    expect((await comment(62, "triager", "/reactorcide approve")).outcome).toBe("ignored");
    await Bun.sleep(2000);
    expect(await jobsOfSha(sha)).toEqual([]);
    expect((await runsOf(sha)).map((r) => r.status)).toEqual(["awaiting_approval", "awaiting_approval"]);

    expect((await comment(62, "maintainer-m", "looks fine\n/reactorcide approve")).outcome).toBe("accepted");
    const ran = await h.settle(sha, { runsEnded: true });
    expect(ran.runs.map((r) => r.status).sort()).toEqual(["success", "success"]);
    expect(ran.logs.test).toContain("commented head ran");
    expect(await h.leaks()).toEqual([]);
  }, 300_000);

  test("8. `never`: a fork's pull request runs nothing, and the commit status says so; a same-repository one still runs with its secrets", async () => {
    expect((await h.api("PATCH", "/api/v1/projects/acme", { fork_pr_policy: "never" })).status).toBe(200);
    const sha = h.forge.pushFork("never", { "scripts/test.sh": "echo 'must not run'\n" }, "never");
    const answer = await h.pullRequest({ number: 63, headRef: "never", headSha: sha });
    expect([200, 202]).toContain(answer.status);
    const d = await deliveryOf(answer.delivery);
    expect(d).toMatchObject({ outcome: "filtered", reason: expect.stringContaining("fork_pr_policy: never") });
    for (let i = 0; i < 200 && h.gh.latest(BASE_REPO, sha)["reactorcide/eval"] !== "failure"; i++) await Bun.sleep(100);
    expect(h.gh.latest(BASE_REPO, sha)["reactorcide/eval"]).toBe("failure");
    expect((await h.sql`SELECT count(*)::int AS n FROM jobs WHERE source->>'ref' = ${sha}`)[0]!.n).toBe(0);
    expect(await runsOf(sha)).toEqual([]);

    // The policy is about forks: a collaborator's branch of the base repository runs, with its secrets.
    const same = h.forge.pushBase("same-repo-never", { "scripts/test.sh": "echo 'a collaborator ran'\n" }, "same repo");
    expect((await h.pullRequest({ number: 64, headRef: "same-repo-never", headSha: same, sameRepo: true })).status).toBe(202);
    const o = await h.settle(same, { runsEnded: true });
    const publish = o.jobs.find((j) => j.name === "publish")!;
    expect({ untrusted: publish.untrusted, secrets: publish.secret_refs, status: publish.status }).toEqual({ untrusted: false, secrets: ["DEPLOY_TOKEN"], status: "success" });
    expect(o.logs.publish).toContain(BASE_MARKS.publish);
    expect(await h.leaks()).toEqual([]);
  }, 300_000);
});
