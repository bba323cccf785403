/**
 * End to end through containers: `reactorcide serve` (its own process, embedded Postgres, a
 * worker on the host's Docker), a real bare git repository served to job containers over git's
 * own protocol (git daemon on the Docker bridge gateway, as a forge would), GitHub's example push
 * payload adapted to it and signed with @octokit/webhooks-methods, and the GitHub stand-in
 * (checked against @octokit/openapi) receiving the commit statuses.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { serveRepository } from "../../scripts/testing/git-daemon.ts";
import { dockerGateway } from "../../scripts/testing/images.ts";
import { startServe, type Served } from "../testing/serve-process.ts";
import { startGithubStandIn } from "./testing/github-standin.ts";
import { githubHeaders, githubPush } from "./testing/payloads.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function git(dir: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string, ms: number, served?: Served): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${served ? `\n${served.output().slice(-3000)}` : ""}`);
    await Bun.sleep(200);
  }
}

describe("VCS events end to end (serve, Docker, git daemon, GitHub stand-in)", () => {
  test("a push: the eval job runs in a container on the trusted checkout and the source at the pushed SHA; reactorcide/eval goes pending, then success", async () => {
    const image = await ensureRunnerImage();
    const gateway = dockerGateway();
    const repo = mkdtempSync(join(tmpdir(), "rc-vcs-e2e-repo-"));
    cleanups.push(() => rmSync(repo, { recursive: true, force: true }));
    git(repo, "init", "-q", "-b", "main");
    mkdirSync(join(repo, ".reactorcide", "workflows"), { recursive: true });
    mkdirSync(join(repo, ".reactorcide", "jobs"), { recursive: true });
    writeFileSync(join(repo, ".reactorcide", "workflows", "ci.yaml"), "name: ci\ntriggers: { events: [push], branches: [main] }\njobs:\n  - name: hello\n    job_file: hello.yaml\n");
    writeFileSync(join(repo, ".reactorcide", "jobs", "hello.yaml"), `job:\n  image: ${image}\n  command: echo hello from the workflow\n`);
    writeFileSync(join(repo, "README.md"), "e2e\n");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "ci");
    const served = await serveRepository(repo, gateway);
    cleanups.push(() => served.stop());

    const github = startGithubStandIn({ token: "ghp_e2e" });
    cleanups.push(() => github.stop());
    const base = mkdtempSync(join(tmpdir(), "rc-vcs-e2e-"));
    // Embedded Postgres runs as a non-root user: the data directory's parents must be traversable.
    chmodSync(base, 0o711);
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const daemon = await startServe(
      [process.execPath, join(import.meta.dir, "..", "main.ts"), "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0",
        "--runtime", "docker", "--workspace-root", join(base, "ws"), "--default-image", image, "--concurrency", "1", "--public-url", "https://ci.example"],
      { DATABASE_URL: "", REACTORCIDE_MASTER_KEY: "", CORNDOGS_URL: "" },
    );
    cleanups.push(() => daemon.stop());
    const headers = { authorization: `Bearer ${daemon.adminToken!}`, "content-type": "application/json" };
    const created = await fetch(`${daemon.url}/api/v1/projects`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "e2e", repo_url: served.url, webhook_secret: "e2e-webhook-secret", vcs_token: "ghp_e2e", vcs_api_url: github.url }),
    });
    expect(created.status).toBe(201);

    const payload = githubPush({ cloneUrl: served.url, fullName: "acme/e2e" }, { ref: "refs/heads/main", before: "0".repeat(40), after: served.sha });
    const body = JSON.stringify(payload);
    const delivered = await fetch(`${daemon.url}/api/v1/webhooks/github`, { method: "POST", headers: await githubHeaders("e2e-webhook-secret", "push", body), body });
    expect(delivered.status).toBe(202);
    const forged = await fetch(`${daemon.url}/api/v1/webhooks/github`, { method: "POST", headers: await githubHeaders("not-the-secret", "push", body), body });
    expect(forged.status).toBe(401);

    await until(() => github.statuses("acme/e2e", served.sha).find((s) => s.context === "reactorcide/eval" && s.state === "pending"), "pending eval status", 30_000, daemon);
    const done = await until(() => github.statuses("acme/e2e", served.sha).find((s) => s.context === "reactorcide/eval" && s.state !== "pending"), "eval's end status", 240_000, daemon);
    const deliveries = (await (await fetch(`${daemon.url}/api/v1/projects/e2e/deliveries`, { headers })).json()) as { deliveries: { outcome: string; eval_job_id: string; sha: string }[] };
    const evalJob = deliveries.deliveries[0]!.eval_job_id;
    const log = await (await fetch(`${daemon.url}/api/v1/jobs/${evalJob}/logs`, { headers })).text();
    expect({ state: done.state, log: done.state === "success" ? "" : log.slice(-3000) }).toEqual({ state: "success", log: "" });
    expect(deliveries.deliveries[0]).toMatchObject({ outcome: "accepted", sha: served.sha });
    // The trusted checkout decided: the workflow job was selected from /job/ci's .reactorcide.
    expect(log).toContain("hello (.reactorcide/workflows/ci.yaml)");
    expect(done.target_url).toBe(`https://ci.example/jobs/${evalJob}`);
    expect(await daemon.stop()).toBe(0);
  }, 400_000);
});
