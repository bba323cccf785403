/**
 * A daemon killed (SIGKILL) between recording a delivery and processing it: the delivery was
 * answered 202 and is processed by the next start. `reactorcide serve` runs as its own process
 * on a test database; the test holds a lock on the status outbox so the processing cannot commit
 * before the kill.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { testDatabase } from "../testing/postgres.ts";
import { startServe } from "../testing/serve-process.ts";
import { startGithubStandIn } from "./testing/github-standin.ts";
import { githubHeaders, githubPush } from "./testing/payloads.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("a delivery survives kill -9 of the daemon", () => {
  test("recorded and answered, the daemon killed before processing it; the next start starts its eval job and reports pending", async () => {
    const database = await testDatabase("vcs-restart");
    const base = mkdtempSync(join(tmpdir(), "rc-vcs-restart-"));
    chmodSync(base, 0o711);
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const github = startGithubStandIn({ token: "ghp_restart" });
    cleanups.push(() => github.stop());
    const argv = [process.execPath, join(import.meta.dir, "..", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--no-worker"];
    const env = { DATABASE_URL: database.url, REACTORCIDE_MASTER_KEY: "", CORNDOGS_URL: "" };
    const first = await startServe(argv, env);
    const headers = { authorization: `Bearer ${first.adminToken!}`, "content-type": "application/json" };
    const repo = { cloneUrl: "https://github.example/acme/restart.git", fullName: "acme/restart" };
    const made = await fetch(`${first.url}/api/v1/projects`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "restart", repo_url: repo.cloneUrl, webhook_secret: "restart-secret", vcs_token: "ghp_restart", vcs_api_url: github.url }),
    });
    expect(made.status).toBe(201);

    const sql = postgres(database.url, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end());
    const sha = "9".repeat(40);
    const body = JSON.stringify(githubPush(repo, { ref: "refs/heads/main", before: "8".repeat(40), after: sha }));
    let answered = 0;
    // Holds back the pending status written in the processing transaction (and so all of it) until after the kill.
    await sql.begin(async (tx) => {
      await tx`LOCK TABLE vcs_reports IN EXCLUSIVE MODE`;
      const r = await fetch(`${first.url}/api/v1/webhooks/github`, { method: "POST", headers: await githubHeaders("restart-secret", "push", body), body, signal: AbortSignal.timeout(10_000) });
      answered = r.status;
      await Bun.sleep(300);
      first.proc.kill("SIGKILL");
      await first.proc.exited;
    });
    expect(answered).toBe(202);
    const [left] = await sql`SELECT status, eval_job_id FROM webhook_deliveries`;
    expect(left).toEqual({ status: "received", eval_job_id: null });
    expect(github.statuses("acme/restart", sha)).toEqual([]);

    const second = await startServe(argv, env);
    cleanups.push(() => second.stop());
    const end = Date.now() + 30_000;
    while (!github.statuses("acme/restart", sha).some((s) => s.context === "reactorcide/eval" && s.state === "pending")) {
      if (Date.now() > end) throw new Error(`no pending status after the restart:\n${second.output().slice(-2000)}`);
      await Bun.sleep(100);
    }
    const [processed] = await sql`SELECT status, outcome, eval_job_id FROM webhook_deliveries`;
    expect(processed).toMatchObject({ status: "processed", outcome: "accepted" });
    expect((await sql`SELECT count(*)::int AS n FROM jobs WHERE name = 'eval'`)[0]!.n).toBe(1);
    expect(await second.stop()).toBe(0);
  }, 120_000);
});
