import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign } from "@octokit/webhooks-methods";
import postgres from "postgres";
import { testApi } from "../testing/api.ts";
import { DeliveryProcessor } from "./deliveries.ts";
import { githubHeaders, githubPullRequest, githubPush, gitlabHeaders, gitlabMergeRequest, gitlabProject, gitlabPush } from "./testing/payloads.ts";

const SECRET = "hook-secret-value-1";
const REPO = { cloneUrl: "http://172.17.0.1:9999/acme/web.git", fullName: "acme/web" };
const SHA = "a".repeat(40);
const SHA2 = "b".repeat(40);
const ZERO = "0".repeat(40);

let api: Awaited<ReturnType<typeof testApi>>;
let processor: DeliveryProcessor;
beforeAll(async () => {
  let kick = () => {};
  api = await testApi({ vcs: { deliveryRecorded: () => kick() } });
  processor = new DeliveryProcessor({ db: api.db, queue: api.deps.queue, publicUrl: "https://ci.example" });
  // Processed explicitly by each test (drain), so a test sees the state before and after.
  kick = () => {};
  await api.call("POST", "/api/v1/projects", { body: { name: "web", repo_url: "https://github.example/acme/web", webhook_secret: SECRET, vcs_token: "ghp_token_value" } });
  await api.call("POST", "/api/v1/projects", { body: { name: "other", repo_url: "https://github.example/acme/other", webhook_secret: "another-secret-1" } });
});
afterAll(() => api?.close());

async function deliver(path: string, body: string, headers: Record<string, string>) {
  return api.call("POST", path, { body, headers, token: null });
}

async function github(event: string, payload: unknown, o: { secret?: string; delivery?: string; query?: string } = {}) {
  const body = JSON.stringify(payload);
  return deliver(`/api/v1/webhooks/github${o.query ?? ""}`, body, await githubHeaders(o.secret ?? SECRET, event, body, o.delivery));
}

async function evalJobs() {
  return api.sql`SELECT * FROM jobs WHERE name = 'eval' ORDER BY created_at`;
}

describe("GitHub webhooks (GitHub's example payloads, signed by @octokit/webhooks-methods)", () => {
  test("a push is recorded, answered 202 at once, then becomes one eval job with the event in its env and a pending reactorcide/eval status", async () => {
    const before = (await evalJobs()).length;
    const r = await github("push", githubPush(REPO, { ref: "refs/heads/main", before: SHA2, after: SHA }));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ duplicate: false, status: "received", event: "push" });
    expect((await evalJobs()).length).toBe(before);
    await processor.drain();
    const jobs = await evalJobs();
    expect(jobs.length).toBe(before + 1);
    const job = jobs.at(-1)!;
    expect(job.env).toMatchObject({ REACTORCIDE_EVENT_TYPE: "push", REACTORCIDE_BRANCH: "main", REACTORCIDE_SHA: SHA, REACTORCIDE_BEFORE_SHA: SHA2, REACTORCIDE_IS_FORK_PR: "false" });
    expect(job.command).toBe("reactorcide-runner eval");
    expect(job.source).toEqual({ type: "git", url: REPO.cloneUrl, ref: SHA });
    expect(job.ci_source).toEqual({ type: "git", url: "https://github.example/acme/web", ref: SHA });
    expect(job.secret_refs).toEqual([]);
    const delivery = (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
    expect(delivery).toMatchObject({ status: "processed", outcome: "accepted", eval_job_id: job.id });
    const status = (await api.sql`SELECT * FROM vcs_reports WHERE target = ${`${SHA}/reactorcide/eval`}`)[0]!;
    expect(status.payload).toMatchObject({ state: "pending", repo: "acme/web", targetUrl: `https://ci.example/jobs/${job.id}` });
  });

  test("the same delivery id again answers 200 and starts nothing", async () => {
    const delivery = crypto.randomUUID();
    const payload = githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: SHA2 });
    expect((await github("push", payload, { delivery })).status).toBe(202);
    await processor.drain();
    const count = (await evalJobs()).length;
    const again = await github("push", payload, { delivery });
    expect(again.status).toBe(200);
    expect(again.json.duplicate).toBe(true);
    await processor.drain();
    expect((await evalJobs()).length).toBe(count);
  });

  test("a burst of 16 concurrent deliveries (two of them the same delivery id) is recorded once each: 15 answered 202, the repeat 200, 15 eval jobs", async () => {
    const before = (await evalJobs()).length;
    const repeated = crypto.randomUUID();
    const sends = Array.from({ length: 16 }, (_, i) =>
      github("push", githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: (0xb00 + i).toString(16).padStart(40, "0") }), { delivery: i >= 14 ? repeated : undefined }),
    );
    const answers = await Promise.all(sends);
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array(15).fill(202)]);
    expect(answers.find((a) => a.status === 200)!.json.duplicate).toBe(true);
    expect((await api.sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE delivery_id = ${repeated}`)[0]!.n).toBe(1);
    await processor.drain();
    expect((await evalJobs()).length).toBe(before + 15);
  });

  test("a forged signature, an unknown repository, no signature and a signed ping for another project all get the same 401; nothing is recorded", async () => {
    const count = (await api.sql`SELECT count(*)::int AS n FROM webhook_deliveries`)[0]!.n;
    const push = githubPush(REPO, { ref: "refs/heads/main", before: SHA2, after: SHA });
    const forged = await github("push", push, { secret: "not-the-secret" });
    const unknown = await github("push", githubPush({ cloneUrl: "https://github.example/acme/ghost.git", fullName: "acme/ghost" }, { ref: "refs/heads/main", before: SHA2, after: SHA }));
    const body = JSON.stringify(push);
    const unsigned = await deliver("/api/v1/webhooks/github", body, { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "x" });
    // Signed with another project's secret, naming this project's repository.
    const crossed = await github("ping", { zen: "hi", hook_id: 1, repository: push.repository }, { secret: "another-secret-1" });
    // An attacker's guess: the signature's hex of the right length, but wrong.
    const guessed = await deliver("/api/v1/webhooks/github", body, { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "y", "x-hub-signature-256": `sha256=${"0".repeat(64)}` });
    const notJson = await deliver("/api/v1/webhooks/github", "{nope", await githubHeaders(SECRET, "push", "{nope"));
    for (const r of [forged, unknown, unsigned, crossed, guessed, notJson]) {
      expect(r.status).toBe(401);
      expect(r.text).toBe(forged.text);
    }
    expect((await api.sql`SELECT count(*)::int AS n FROM webhook_deliveries`)[0]!.n).toBe(count);
  });

  test("ping, when signed, is answered 202 ignored with why", async () => {
    const r = await github("ping", { zen: "Keep it logically awesome.", hook_id: 42, repository: githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: SHA2 }).repository });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: "processed", outcome: "ignored" });
    expect(r.json.reason).toContain("ping");
  });

  test("?project= names the project; the form-encoded payload= body is read too", async () => {
    const payload = githubPush({ cloneUrl: "https://elsewhere.example/mirror.git", fullName: "acme/web" }, { ref: "refs/heads/main", before: SHA, after: SHA2 });
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const headers = { ...(await githubHeaders(SECRET, "push", body)), "content-type": "application/x-www-form-urlencoded" };
    const r = await deliver("/api/v1/webhooks/github?project=web", body, headers);
    expect(r.status).toBe(202);
    expect(r.json.event).toBe("push");
  });

  test("tags, deleted refs and pull request actions map as documented", async () => {
    const cases: [string, unknown, string | null][] = [
      ["push", githubPush(REPO, { ref: "refs/tags/v1.2.0", before: ZERO, after: SHA }), "tag_created"],
      ["push", githubPush(REPO, { ref: "refs/heads/gone", before: SHA, after: ZERO, deleted: true }), null],
      ["pull_request", githubPullRequest(REPO, { action: "opened", number: 7, baseRef: "main", baseSha: SHA2, headRef: "feature", headSha: SHA }), "pull_request_opened"],
      ["pull_request", githubPullRequest(REPO, { action: "reopened", number: 7, baseRef: "main", baseSha: SHA2, headRef: "feature", headSha: SHA }), "pull_request_opened"],
      ["pull_request", githubPullRequest(REPO, { action: "synchronize", number: 7, baseRef: "main", baseSha: SHA2, headRef: "feature", headSha: SHA }), "pull_request_updated"],
      ["pull_request", githubPullRequest(REPO, { action: "labeled", number: 7, baseRef: "main", baseSha: SHA2, headRef: "feature", headSha: SHA }), null],
      ["issues", { action: "opened", repository: githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: SHA2 }).repository }, null],
    ];
    for (const [event, payload, mapped] of cases) {
      const r = await github(event, payload);
      expect(r.status).toBe(202);
      if (mapped) expect(r.json.event).toBe(mapped);
      else expect(r.json.outcome).toBe("ignored");
    }
  });

  test("merged and closed pull requests are not in the default allowed_events: recorded as filtered, with why", async () => {
    const merged = await github("pull_request", githubPullRequest(REPO, { action: "closed", merged: true, number: 8, baseRef: "main", baseSha: SHA2, headRef: "f", headSha: SHA }));
    expect(merged.json).toMatchObject({ outcome: "filtered", event: "pull_request_merged" });
    expect(merged.json.reason).toContain("allowed_events");
    const closed = await github("pull_request", githubPullRequest(REPO, { action: "closed", number: 9, baseRef: "main", baseSha: SHA2, headRef: "f", headSha: SHA }));
    expect(closed.json).toMatchObject({ outcome: "filtered", event: "pull_request_closed" });
  });

  test("a fork pull request is recorded as one, with what the fork policy needs; its eval job gets no secrets", async () => {
    const fork = { cloneUrl: "https://github.example/mallory/web.git", fullName: "mallory/web" };
    const r = await github("pull_request", githubPullRequest(REPO, { action: "opened", number: 11, baseRef: "main", baseSha: SHA2, headRef: "evil", headSha: SHA, head: fork, association: "FIRST_TIME_CONTRIBUTOR" }));
    expect(r.status).toBe(202);
    await processor.drain();
    const d = (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
    expect(d.mapped).toMatchObject({ isFork: true, authorAssociation: "FIRST_TIME_CONTRIBUTOR", headRepoUrl: fork.cloneUrl, baseSha: SHA2, sha: SHA, prNumber: 11 });
    const job = (await api.sql`SELECT * FROM jobs WHERE id = ${d.eval_job_id}`)[0]!;
    expect(job.env.REACTORCIDE_IS_FORK_PR).toBe("true");
    // The trusted checkout is the base repository at the base SHA; the fork's code only in /job/src.
    expect(job.ci_source).toEqual({ type: "git", url: "https://github.example/acme/web", ref: SHA2 });
    expect(job.source).toEqual({ type: "git", url: fork.cloneUrl, ref: SHA });
    expect(job.secret_refs).toEqual([]);
  });

  test("allowed_events and target_branches filter before anything runs", async () => {
    expect((await api.call("PATCH", "/api/v1/projects/web", { body: { allowed_events: ["push", "pull_request_merged"], target_branches: ["main", "release/*"] } })).status).toBe(200);
    try {
      const feature = await github("push", githubPush(REPO, { ref: "refs/heads/feature/x", before: SHA, after: SHA2 }));
      expect(feature.json.outcome).toBe("filtered");
      expect(feature.json.reason).toContain("target_branches");
      const release = await github("push", githubPush(REPO, { ref: "refs/heads/release/2", before: SHA, after: SHA2 }));
      expect(release.json.status).toBe("received");
      const opened = await github("pull_request", githubPullRequest(REPO, { action: "opened", number: 12, baseRef: "main", baseSha: SHA2, headRef: "f", headSha: SHA }));
      expect(opened.json.outcome).toBe("filtered");
      const merged = await github("pull_request", githubPullRequest(REPO, { action: "closed", merged: true, number: 12, baseRef: "main", baseSha: SHA2, headRef: "f", headSha: SHA }));
      expect(merged.json.status).toBe("received");
    } finally {
      await api.call("PATCH", "/api/v1/projects/web", { body: { allowed_events: [], target_branches: [] } });
      await processor.drain();
    }
  });

  test("bodies up to 25 MB are taken (beyond the API's 1 MiB); larger ones are 413", async () => {
    const payload = githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: SHA2 }) as Record<string, unknown>;
    payload.padding = "x".repeat(3 * 1024 * 1024);
    const big = await github("push", payload);
    expect(big.status).toBe(202);
    const huge = "x".repeat(25 * 1024 * 1024 + 1);
    const r = await deliver("/api/v1/webhooks/github", huge, await githubHeaders(SECRET, "push", "{}"));
    expect(r.status).toBe(413);
    await processor.drain();
  });

  test("the answer does not wait on the jobs table: with jobs locked by another transaction a delivery is answered 202 at once, and processed once the lock is gone", async () => {
    const other = postgres({ ...(api.sql as unknown as { options: postgres.Options<{}> }).options, max: 1, onnotice: () => {} });
    try {
      let answered: { status: number; json: any } | "blocked" = "blocked";
      const release = Promise.withResolvers<void>();
      const holder = other.begin(async (tx) => {
        // What a migration or a VACUUM FULL holds; before, the delivery's insert waited on it (its foreign key's ROW SHARE lock on jobs).
        await tx`LOCK TABLE jobs IN EXCLUSIVE MODE`;
        const r = await Promise.race([github("push", githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: "d".repeat(40) })), Bun.sleep(5000).then(() => "blocked" as const)]);
        answered = r;
        const waiting = await tx`SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted`;
        expect(waiting.map((w) => w.relname)).toEqual([]);
        release.resolve();
      });
      await release.promise;
      expect(answered).not.toBe("blocked");
      const r = answered as unknown as { status: number; json: any };
      expect(r.status).toBe(202);
      expect(r.json.status).toBe("received");
      await holder;
      await processor.drain();
      const d = (await api.sql`SELECT outcome, eval_job_id FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
      expect(d.outcome).toBe("accepted");
      expect(d.eval_job_id).not.toBeNull();
    } finally {
      await other.end();
    }
  });

  test("a delivery recorded but not processed when the daemon died is processed by the next start", async () => {
    const r = await github("push", githubPush(REPO, { ref: "refs/heads/main", before: SHA, after: "c".repeat(40) }));
    expect(r.json.status).toBe("received");
    // A fresh processor, as after a restart; nothing kicked it.
    const restarted = new DeliveryProcessor({ db: api.db, queue: api.deps.queue });
    await restarted.drain();
    const d = (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
    expect(d.outcome).toBe("accepted");
    expect(d.eval_job_id).not.toBeNull();
  });
});

describe("GitLab webhooks (payloads as GitLab documents them)", () => {
  const TOKEN = "gitlab-hook-token";
  const project = gitlabProject(321, "http://172.17.0.1:9999/group/app.git", "group/app");
  beforeAll(async () => {
    await api.call("POST", "/api/v1/projects", { body: { name: "gl", vcs_provider: "gitlab", repo_url: "https://gitlab.example/group/app.git", webhook_secret: TOKEN } });
  });
  const gitlab = async (event: string, payload: unknown, o: { token?: string; uuid?: string } = {}) =>
    deliver("/api/v1/webhooks/gitlab", JSON.stringify(payload), gitlabHeaders(o.token ?? TOKEN, event, o.uuid));

  test("Push Hook, Tag Push Hook and Merge Request Hook map like GitHub's; a wrong token is the same 401", async () => {
    expect((await gitlab("Push Hook", gitlabPush(project, { ref: "refs/heads/main", before: SHA2, after: SHA }))).json.event).toBe("push");
    expect((await gitlab("Tag Push Hook", gitlabPush(project, { ref: "refs/tags/v2", before: ZERO, after: SHA, tag: true }))).json.event).toBe("tag_created");
    expect((await gitlab("Tag Push Hook", gitlabPush(project, { ref: "refs/tags/v2", before: SHA, after: ZERO, tag: true }))).json.outcome).toBe("ignored");
    expect((await gitlab("Merge Request Hook", gitlabMergeRequest(project, { action: "open", iid: 3, target: "main", source: "f", sha: SHA }))).json.event).toBe("pull_request_opened");
    expect((await gitlab("Merge Request Hook", gitlabMergeRequest(project, { action: "update", iid: 3, target: "main", source: "f", sha: SHA2, oldrev: SHA }))).json.event).toBe("pull_request_updated");
    const retitled = await gitlab("Merge Request Hook", gitlabMergeRequest(project, { action: "update", iid: 3, target: "main", source: "f", sha: SHA2 }));
    expect(retitled.json.outcome).toBe("ignored");
    expect((await gitlab("Merge Request Hook", gitlabMergeRequest(project, { action: "merge", iid: 3, target: "main", source: "f", sha: SHA2 }))).json.event).toBe("pull_request_merged");
    expect((await gitlab("Merge Request Hook", gitlabMergeRequest(project, { action: "close", iid: 4, target: "main", source: "f", sha: SHA2 }))).json.event).toBe("pull_request_closed");
    const wrong = await gitlab("Push Hook", gitlabPush(project, { ref: "refs/heads/main", before: SHA2, after: SHA }), { token: "guess" });
    const ghost = await gitlab("Push Hook", gitlabPush(gitlabProject(1, "https://gitlab.example/no/such.git", "no/such"), { ref: "refs/heads/main", before: SHA2, after: SHA }));
    expect(wrong.status).toBe(401);
    expect(ghost.text).toBe(wrong.text);
    // A GitHub-signed delivery for a GitLab project is not this project's either.
    const body = JSON.stringify(gitlabPush(project, { ref: "refs/heads/main", before: SHA2, after: SHA }));
    const crossed = await deliver("/api/v1/webhooks/github?project=gl", body, { ...(await githubHeaders(TOKEN, "push", body)), "x-hub-signature-256": await sign(TOKEN, body) });
    expect(crossed.status).toBe(401);
    await processor.drain();
  });

  test("a merge request from a fork project is marked as one; the eval job's base is the target project's repository", async () => {
    const fork = gitlabProject(999, "http://172.17.0.1:9999/mallory/app.git", "mallory/app");
    const r = await gitlab("Merge Request Hook", gitlabMergeRequest(project, { action: "open", iid: 5, target: "main", source: "evil", sha: SHA, sourceProject: fork }));
    await processor.drain();
    const d = (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
    expect(d.mapped).toMatchObject({ isFork: true, headRepoUrl: fork.git_http_url, apiRepo: "321", prNumber: 5 });
  });
});

describe("deliveries API", () => {
  test("admins list recent deliveries with outcomes and process one again; others cannot see them", async () => {
    const list = await api.call("GET", "/api/v1/projects/web/deliveries?limit=5");
    expect(list.status).toBe(200);
    expect(list.json.deliveries.length).toBe(5);
    expect(list.json.deliveries[0]).toHaveProperty("outcome");
    const accepted = (await api.call("GET", "/api/v1/projects/web/deliveries?limit=200")).json.deliveries.find((d: { outcome: string }) => d.outcome === "accepted");
    const before = (await evalJobs()).length;
    const again = await api.call("POST", `/api/v1/projects/web/deliveries/${accepted.id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.json.status).toBe("received");
    await processor.drain();
    expect((await evalJobs()).length).toBe(before + 1);
    const reader = await api.tokenFor("delivery-reader");
    expect((await api.call("GET", "/api/v1/projects/web/deliveries", { token: reader })).status).toBe(404);
  });
});
