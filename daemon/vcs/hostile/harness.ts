/**
 * One Reactorcide for all the attack tests, through the real path: `reactorcide serve` in its own
 * process (a worker on the host's Docker, Postgres from the test cluster so the tests can read
 * every table), the GitHub stand-in (checked against @octokit/openapi) as the forge's API, the
 * repositories of ./repos.ts served by `git daemon` on the Docker bridge, and webhook deliveries
 * signed with @octokit/webhooks-methods. Jobs reach the coordinator on the bridge with their job
 * token, as they would in a deployment.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { TERMINAL_STATUSES } from "../../../runner/protocol/index.ts";
import { ensureRunnerImage } from "../../../runner/testing/image.ts";
import { dockerGateway } from "../../../scripts/testing/images.ts";
import { freePort } from "../../db/free-port.ts";
import { testDatabase } from "../../testing/postgres.ts";
import { callApi, startServe, type ApiAnswer, type Served } from "../../testing/serve-process.ts";
import { startGithubStandIn, type GithubStandIn } from "../testing/github-standin.ts";
import { githubHeaders, githubPullRequest } from "../testing/payloads.ts";
import { databasePlaces, filePlaces, findLeaks, type Leak, type Place } from "./leaks.ts";
import { startForge, type Forge } from "./repos.ts";

export const BASE_REPO = "acme/acme";
export const FORK_REPO = "mallory/acme";
export const HOOK_SECRET = "hook-secret-acme-7f3a91c2";
export const OTHER_HOOK_SECRET = "hook-secret-other-0b8e55d4";
const VCS_TOKEN = "ghp_hostileVcsToken4c1d9e";

/**
 * Every value no job of a fork may see and no log, status, comment, artifact, trigger or row may
 * hold in the clear: the project's secrets, the other project's, and the forge credentials.
 */
export const SECRET_VALUES = {
  DEPLOY_TOKEN: "dpl/5ecret+41c7e0b9d2",
  NPM_TOKEN: "npm-5ecret-9a08f6b3c1",
  OTHER_SECRET: "oth-5ecret-e2d4c6a8f0",
  acme_webhook_secret: HOOK_SECRET,
  other_webhook_secret: OTHER_HOOK_SECRET,
  vcs_token: VCS_TOKEN,
} as const;

export type { ApiAnswer };

export type JobRow = {
  id: string;
  name: string;
  status: string;
  command: string | null;
  untrusted: boolean;
  secret_refs: string[];
  source: { type: string; url?: string; ref?: string } | null;
  ci_source: { type: string; url?: string; ref?: string } | null;
  workflow_run_id: string | null;
  reason: string | null;
};
export type RunRow = { id: string; name: string; status: string; reason: string | null; context: Record<string, any> };

export interface Outcome {
  delivery: Record<string, any>;
  evalJob: JobRow;
  runs: RunRow[];
  jobs: JobRow[];
  /** Each job's log as the API serves it, by job name (eval: the eval job). */
  logs: Record<string, string>;
}

export interface Harness {
  image: string;
  gateway: string;
  url: string;
  admin: string;
  forge: Forge;
  gh: GithubStandIn;
  sql: postgres.Sql;
  daemon: Served;
  dataDir: string;
  workspaceRoot: string;
  otherJobId: string;
  /** The API as a token holder sees it (the admin by default; null: no token). */
  api(method: string, path: string, body?: unknown, token?: string | null): Promise<ApiAnswer>;
  /** POSTs a GitHub delivery signed with `secret` (default: the project's). */
  deliver(event: string, payload: unknown, o?: { secret?: string; delivery?: string; query?: string }): Promise<ApiAnswer>;
  /** A pull request event from the fork (or, with `sameRepo`, from a branch of the base repository). */
  pullRequest(o: { number: number; headRef: string; headSha: string; action?: string; sameRepo?: boolean; association?: string; delivery?: string }): Promise<ApiAnswer & { payload: unknown; delivery: string }>;
  /** Waits until the eval of `sha` and every run it started have ended (or wait for approval) and their statuses reached the forge. */
  settle(sha: string, o?: { runsEnded?: boolean; timeoutMs?: number }): Promise<Outcome>;
  /** Every leak of SECRET_VALUES anywhere: tables, forge calls, job logs, files under the data dir and workspaces, the daemon's output. */
  leaks(): Promise<Leak[]>;
  places(): Promise<Place[]>;
  stop(): Promise<void>;
}

const ENDED = new Set<string>([...TERMINAL_STATUSES]);
const RUN_ENDED = new Set(["success", "failure", "cancelled", "error", "declined"]);

async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms: number, context: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await Bun.sleep(150);
  }
}

export async function startHarness(): Promise<Harness> {
  const cleanups: (() => unknown)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const image = await ensureRunnerImage();
    const gateway = dockerGateway();
    const root = mkdtempSync(join(tmpdir(), "rc-hostile-"));
    // Embedded Postgres and the job's user (1001) both need the parents traversable.
    chmodSync(root, 0o711);
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const forge = await startForge(root, gateway, image);
    cleanups.push(() => forge.stop());
    const gh = startGithubStandIn({ token: VCS_TOKEN });
    cleanups.push(() => gh.stop());
    const db = await testDatabase("hostile");
    const sql = postgres(db.url, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end());

    const dataDir = join(root, "data");
    const workspaceRoot = join(root, "ws");
    mkdirSync(dataDir);
    const port = await freePort(gateway);
    // The coordinator listens on the bridge so jobs reach it; the test reaches it there too.
    const daemon = await startServe(
      [process.execPath, join(import.meta.dir, "..", "..", "main.ts"), "serve", "--data-dir", dataDir, "--host", gateway, "--port", String(port),
        "--corndogs-listen", "127.0.0.1:0", "--runtime", "docker", "--workspace-root", workspaceRoot, "--keep-workspace", "--default-image", image,
        "--concurrency", "2", "--grace-period", "2", "--public-url", "https://ci.example", "--job-coordinator-url", `http://${gateway}:${port}`],
      { DATABASE_URL: db.url, REACTORCIDE_MASTER_KEY: "", CORNDOGS_URL: "" },
    );
    cleanups.push(() => daemon.stop());
    const url = daemon.url;
    const admin = daemon.adminToken!;

    const api = (method: string, path: string, body?: unknown, token: string | null = admin) => callApi(url, method, path, body, token);
    const must = async (what: string, answer: Promise<ApiAnswer>, status: number) => {
      const a = await answer;
      if (a.status !== status) throw new Error(`${what}: ${a.status} ${a.text}`);
      return a;
    };
    await must("project acme", api("POST", "/api/v1/projects", { name: "acme", repo_url: forge.baseUrl, webhook_secret: HOOK_SECRET, vcs_token: VCS_TOKEN, vcs_api_url: gh.url, fork_pr_policy: "always" }), 201);
    await must("project other", api("POST", "/api/v1/projects", { name: "other", repo_url: forge.otherUrl, webhook_secret: OTHER_HOOK_SECRET, default_image: image }), 201);
    for (const name of ["DEPLOY_TOKEN", "NPM_TOKEN"] as const) await must(name, api("PUT", `/api/v1/projects/acme/secrets/${name}`, { value: SECRET_VALUES[name] }), 201);
    await must("OTHER_SECRET", api("PUT", "/api/v1/projects/other/secrets/OTHER_SECRET", { value: SECRET_VALUES.OTHER_SECRET }), 201);
    // A job of the other project holding its secret: what a fork's job token reaches for.
    const other = await must("other's job", api("POST", "/api/v1/jobs", { project: "other", name: "nightly", command: "true", secrets: ["OTHER_SECRET"] }), 201);

    const deliver: Harness["deliver"] = async (event, payload, o = {}) => {
      const body = JSON.stringify(payload);
      const r = await fetch(`${url}/api/v1/webhooks/github${o.query ?? ""}`, { method: "POST", headers: await githubHeaders(o.secret ?? HOOK_SECRET, event, body, o.delivery), body });
      const text = await r.text();
      return { status: r.status, text, json: text ? JSON.parse(text) : null };
    };

    const jobsWhere = (clause: postgres.PendingQuery<any>) =>
      sql<JobRow[]>`SELECT id, name, status, command, untrusted, secret_refs, source, ci_source, workflow_run_id, reason FROM jobs WHERE ${clause} ORDER BY created_at`;
    const tail = () => daemon.output().slice(-4000);

    const harness: Harness = {
      image,
      gateway,
      url,
      admin,
      forge,
      gh,
      sql,
      daemon,
      dataDir,
      workspaceRoot,
      otherJobId: other.json.id,
      api,
      deliver,
      pullRequest(o) {
        const base = { cloneUrl: forge.baseUrl, fullName: BASE_REPO };
        const head = o.sameRepo ? base : { cloneUrl: forge.forkUrl, fullName: FORK_REPO };
        const payload = githubPullRequest(base, {
          action: o.action ?? "opened",
          number: o.number,
          baseRef: "main",
          baseSha: forge.baseSha,
          headRef: o.headRef,
          headSha: o.headSha,
          head,
          association: o.association ?? (o.sameRepo ? "COLLABORATOR" : "NONE"),
        });
        const delivery = o.delivery ?? crypto.randomUUID();
        return deliver("pull_request", payload, { delivery }).then((a) => ({ ...a, payload, delivery }));
      },
      async settle(sha, o = {}) {
        const ms = 240_000;
        const delivery = await until(
          async () => (await sql`SELECT * FROM webhook_deliveries WHERE mapped->>'sha' = ${sha} AND eval_job_id IS NOT NULL ORDER BY received_at DESC LIMIT 1`)[0],
          `an eval job for ${sha}`,
          ms,
          tail,
        );
        const evalJob = await until(async () => (await jobsWhere(sql`id = ${delivery.eval_job_id}`)).find((j) => ENDED.has(j.status)), `the eval of ${sha} to end`, ms, tail);
        const runsOf = () => sql<RunRow[]>`SELECT id, name, status, reason, context FROM workflow_runs WHERE commit_sha = ${sha} ORDER BY name`;
        const settled = async () => {
          const runs = await runsOf();
          const jobs = runs.length ? await jobsWhere(sql`workflow_run_id IN ${sql(runs.map((r) => r.id))}`) : [];
          const runsDone = runs.every((r) => RUN_ENDED.has(r.status) || (!o.runsEnded && r.status === "awaiting_approval"));
          const jobsDone = jobs.every((j) => ENDED.has(j.status) || (!o.runsEnded && j.status === "awaiting_approval"));
          // The statuses of ended runs have reached the forge.
          const latest = gh.latest(BASE_REPO, sha);
          const reported = latest["reactorcide/eval"] !== undefined && latest["reactorcide/eval"] !== "pending" && runs.every((r) => !RUN_ENDED.has(r.status) || (latest[`reactorcide/${r.name}`] ?? "pending") !== "pending");
          return runsDone && jobsDone && reported && { runs, jobs };
        };
        let last: unknown;
        const { runs, jobs } = await until(
          async () => {
            const s = await settled();
            last = s || { runs: await runsOf(), jobs: await sql`SELECT j.name, j.status, j.reason FROM jobs j JOIN workflow_runs r ON r.id = j.workflow_run_id WHERE r.commit_sha = ${sha}` };
            return s;
          },
          `the runs of ${sha} to end and be reported`,
          o.timeoutMs ?? ms,
          () => `statuses ${JSON.stringify(gh.latest(BASE_REPO, sha))}\nstate ${JSON.stringify(last)}\n${tail()}`,
        );
        const logs: Record<string, string> = { eval: (await api("GET", `/api/v1/jobs/${evalJob.id}/logs`)).text };
        for (const j of jobs) logs[j.name] = (await api("GET", `/api/v1/jobs/${j.id}/logs`)).text;
        return { delivery, evalJob, runs, jobs, logs };
      },
      async places() {
        const places = await databasePlaces(sql);
        gh.calls.forEach((c, i) => places.push({ where: `GitHub stand-in call ${i} (${c.method} ${c.path})`, text: JSON.stringify({ path: c.path, query: c.query, body: c.body }) }));
        for (const j of await sql<{ id: string; name: string }[]>`SELECT id, name FROM jobs`) {
          places.push({ where: `log of job ${j.name} (${j.id})`, text: (await api("GET", `/api/v1/jobs/${j.id}/logs`)).text });
        }
        places.push(...filePlaces(dataDir), ...filePlaces(workspaceRoot));
        places.push({ where: "the daemon's output", text: daemon.output() });
        return places;
      },
      async leaks() {
        return findLeaks(SECRET_VALUES, await harness.places());
      },
      stop,
    };
    return harness;
  } catch (error) {
    await stop();
    throw error;
  }
}
