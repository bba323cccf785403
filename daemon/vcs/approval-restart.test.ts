/**
 * Approvals survive kill -9 of the daemon (#14): `reactorcide serve` runs as its own process on a
 * test database. A pull request comment `/reactorcide approve` answered 202 but not yet applied
 * when the daemon is killed (the test holds a lock on the decisions table) is applied once by the
 * next start; a decline answered 200 is there after a kill, and its commit status reaches the
 * GitHub stand-in from the next start. The eval job's triggers are handed over from the test, as
 * a worker would (the daemon runs no worker).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, openDb } from "../db/client.ts";
import { transitionJob } from "../jobs/store.ts";
import { idleQueue } from "../testing/api.ts";
import { testDatabase } from "../testing/postgres.ts";
import { startServe, type Served } from "../testing/serve-process.ts";
import { WorkflowEngine } from "../workflows/engine.ts";
import { evalRunsPlan } from "./eval-runs.ts";
import { startGithubStandIn } from "./testing/github-standin.ts";
import { githubHeaders, githubIssueComment, githubPullRequest } from "./testing/payloads.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, served?: Served, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${served ? `\n${served.output().slice(-2000)}` : ""}`);
    await Bun.sleep(100);
  }
}

describe("approvals survive kill -9 of the daemon (serve, GitHub stand-in)", () => {
  test("a comment's approval cut off by the kill is applied once at the next start; a decline answered 200 holds, and its status is sent after the restart", async () => {
    const database = await testDatabase("vcs-approve-restart");
    const base = mkdtempSync(join(tmpdir(), "rc-approve-restart-"));
    chmodSync(base, 0o711);
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const github = startGithubStandIn({ token: "ghp_approve" });
    cleanups.push(() => github.stop());
    const argv = [process.execPath, join(import.meta.dir, "..", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--no-worker", "--public-url", "https://ci.example"];
    const env = { DATABASE_URL: database.url, REACTORCIDE_MASTER_KEY: "", CORNDOGS_URL: "" };
    let served = await startServe(argv, env);
    let current = served;
    cleanups.push(() => current.stop());
    const headers = { authorization: `Bearer ${served.adminToken!}`, "content-type": "application/json" };
    const repo = { cloneUrl: "https://github.example/acme/approve.git", fullName: "acme/approve" };
    const fork = { cloneUrl: "https://github.example/mallory/approve.git", fullName: "mallory/approve" };
    const made = await fetch(`${served.url}/api/v1/projects`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "approve", repo_url: repo.cloneUrl, webhook_secret: "approve-secret", vcs_token: "ghp_approve", vcs_api_url: github.url }),
    });
    expect(made.status).toBe(201);
    github.setPermission("acme/approve", "owner-o", "admin");

    const sql = connect(database.url, 3);
    cleanups.push(() => sql.end());
    const db = openDb(sql);
    // The test plays the worker: it runs each eval job and hands over its triggers.
    const engine = new WorkflowEngine({ db, queue: idleQueue, eventRuns: evalRunsPlan });
    cleanups.push(() => engine.close());
    const deliver = async (event: string, payload: unknown) => {
      const body = JSON.stringify(payload);
      const r = await fetch(`${current.url}/api/v1/webhooks/github`, { method: "POST", headers: await githubHeaders("approve-secret", event, body), body });
      expect(r.status).toBe(202);
      return ((await r.json()) as { id: string }).id;
    };
    const forkPr = async (number: number, head: string) => {
      const id = await deliver("pull_request", githubPullRequest(repo, { action: "opened", number, baseRef: "main", baseSha: "b".repeat(40), headRef: "x", headSha: head, head: fork, association: "NONE" }));
      const evalJob = await until(async () => (await sql`SELECT eval_job_id FROM webhook_deliveries WHERE id = ${id}`)[0]?.eval_job_id as string | undefined, "eval job", current);
      expect((await transitionJob(db, evalJob, "running", { workerId: "test" })).ok).toBe(true);
      await engine.extendFromTrigger(evalJob, { type: "trigger_job", operation_id: randomUUID(), jobs: [{ job_name: "test", workflow: "ci", job_command: "make test" }] }, "file");
      expect((await transitionJob(db, evalJob, "success", { exitCode: 0 })).ok).toBe(true);
      await engine.jobEnded(evalJob);
      const [run] = await sql`SELECT id, status FROM workflow_runs WHERE commit_sha = ${head}`;
      expect(run!.status).toBe("awaiting_approval");
      return run!.id as string;
    };

    // 1. The comment is recorded and answered; its decision cannot commit before the kill.
    const headA = "1".repeat(40);
    const runA = await forkPr(61, headA);
    let commentId = "";
    await sql.begin(async (tx) => {
      await tx`LOCK TABLE fork_pr_decisions IN EXCLUSIVE MODE`;
      commentId = await deliver("issue_comment", githubIssueComment(repo, { number: 61, body: "/reactorcide approve", login: "owner-o" }));
      await until(() => github.calls.some((c) => c.path === "/repos/acme/approve/collaborators/owner-o/permission"), "the permission asked", current);
      await Bun.sleep(300);
      served.proc.kill("SIGKILL");
      await served.proc.exited;
    });
    expect((await sql`SELECT status FROM webhook_deliveries WHERE id = ${commentId}`)[0]!.status).toBe("received");
    expect((await sql`SELECT count(*)::int AS n FROM fork_pr_decisions`)[0]!.n).toBe(0);
    expect((await sql`SELECT status FROM workflow_runs WHERE id = ${runA}`)[0]!.status).toBe("awaiting_approval");

    served = await startServe(argv, env);
    current = served;
    await until(async () => (await sql`SELECT outcome FROM webhook_deliveries WHERE id = ${commentId}`)[0]?.outcome === "accepted", "the comment applied after the restart", served);
    expect((await sql`SELECT status FROM workflow_runs WHERE id = ${runA}`)[0]!.status).toBe("running");
    expect((await sql`SELECT count(*)::int AS n FROM fork_pr_decisions WHERE decision = 'approved' AND head_sha = ${headA}`)[0]!.n).toBe(1);
    expect((await sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'workflow.approve'`)[0]!.n).toBe(1);
    expect((await sql`SELECT count(*)::int AS n FROM jobs WHERE workflow_run_id = ${runA} AND status = 'queued'`)[0]!.n).toBe(1);

    // 2. A decline through the API, the daemon killed right after its answer.
    const headB = "2".repeat(40);
    const runB = await forkPr(62, headB);
    const declined = await fetch(`${served.url}/api/v1/workflows/${runB}/decline`, { method: "POST", headers });
    expect(declined.status).toBe(200);
    served.proc.kill("SIGKILL");
    await served.proc.exited;
    expect((await sql`SELECT status, reason FROM workflow_runs WHERE id = ${runB}`)[0]).toEqual({ status: "failure", reason: "declined by admin" });
    served = await startServe(argv, env);
    current = served;
    // A status the killed daemon was sending stays leased to it for up to a minute (reporter.ts), then is sent.
    await until(() => github.statuses("acme/approve", headB).some((s) => s.context === "reactorcide/ci" && s.state === "failure" && s.description === "declined by admin"), "the declined status", served, 100_000);
    expect((await sql`SELECT count(*)::int AS n FROM jobs WHERE workflow_run_id = ${runB}`)[0]!.n).toBe(0);
    expect(await served.stop()).toBe(0);
  }, 300_000);
});
