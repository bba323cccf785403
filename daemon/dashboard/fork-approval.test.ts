/**
 * Approving a fork pull request's run from the dashboard (#16), in Chromium: the app built on a
 * fresh database (testApi, which serves the dashboard as serve does) behind a real HTTP port, a
 * fork pull request delivered as GitHub would send it (signed) with the GitHub stand-in answering
 * the daemon, its eval job moved as a worker would: a real run `awaiting_approval`, no containers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { testApi } from "../testing/api.ts";
import { startVcsServices, type VcsServices } from "../vcs/services.ts";
import { deliverAndProcess, runJobAsWorker } from "../vcs/testing/fork-flow.ts";
import { startGithubStandIn, type GithubStandIn } from "../vcs/testing/github-standin.ts";
import { githubPullRequest } from "../vcs/testing/payloads.ts";
import { DESKTOP, launch, shot, watch } from "./testing/browser.ts";

const SECRET = "fork-approval-dashboard-secret";
const REPO = { cloneUrl: "http://127.0.0.1:9/acme/site.git", fullName: "acme/site" };
const FORK = { cloneUrl: "http://127.0.0.1:9/mallory/site.git", fullName: "mallory/site" };
const BASE_SHA = "b".repeat(40);
const HEAD_SHA = "a1".repeat(20);
let api: Awaited<ReturnType<typeof testApi>>;
let gh: GithubStandIn;
let vcs: VcsServices;
let server: ReturnType<typeof Bun.serve>;
let url: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  let kick = () => {};
  api = await testApi({ vcs: { deliveryRecorded: () => kick() } });
  gh = startGithubStandIn({ token: "ghp_site" });
  vcs = await startVcsServices({ db: api.db, sql: api.sql, queue: api.deps.queue, keys: [api.deps.key], publicUrl: "https://ci.example", baseBackoffMs: 50, log: () => {} });
  kick = () => vcs.deliveryRecorded();
  vcs.sync.followRuns(api.workflows.events);
  vcs.useWorkflows(api.workflows);
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => api.app.handle(request) });
  url = `http://127.0.0.1:${server.port}`;
  browser = await launch();
  const made = await api.call("POST", "/api/v1/projects", { body: { name: "site", repo_url: "https://github.example/acme/site", webhook_secret: SECRET, vcs_token: "ghp_site", vcs_api_url: gh.url } });
  expect(made.status).toBe(201);
}, 120_000);
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  server?.stop(true);
  await vcs?.stop();
  gh?.stop();
  await api?.close();
}, 60_000);

async function signedIn(token: string): Promise<{ page: Page; seen: ReturnType<typeof watch> }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  contexts.push(context);
  const page = await context.newPage();
  const seen = watch(page, url);
  await page.goto(url + "/");
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=user]");
  return { page, seen };
}

/** A fork pull request by an outsider whose eval has run: its one run, awaiting approval. */
async function forkRun(number: number, headSha: string) {
  const payload = githubPullRequest(REPO, { action: "opened", number, baseRef: "main", baseSha: BASE_SHA, headRef: "patch", headSha, head: FORK, association: "NONE" });
  const d = await deliverAndProcess(api, vcs, { provider: "github", secret: SECRET, event: "pull_request", payload });
  expect(d.outcome).toBe("accepted");
  await runJobAsWorker(api, d.eval_job_id, "success", [{ job_name: "test", workflow: "ci", job_command: "make test" }]);
  const [run] = await api.sql`SELECT id, status FROM workflow_runs WHERE commit_sha = ${headSha}`;
  expect(run!.status).toBe("awaiting_approval");
  return run!.id as string;
}

describe("fork pull request approval in the dashboard", () => {
  test("a writer sees the notice (PR, author, head and base SHA), approves; the run starts and shows who approved; a reader sees no buttons; the list marks and filters runs awaiting approval", async () => {
    const writer = await api.tokenFor("walt");
    const reader = await api.tokenFor("rita");
    await api.call("PUT", "/api/v1/projects/site/members/walt", { body: { role: "write" } });
    await api.call("PUT", "/api/v1/projects/site/members/rita", { body: { role: "read" } });
    const runId = await forkRun(41, HEAD_SHA);
    const other = await forkRun(42, "c3".repeat(20));

    // A reader: the notice, no buttons.
    const asReader = await signedIn(reader);
    await asReader.page.goto(`${url}/workflows/${runId}`);
    const readerNotice = asReader.page.locator("[data-testid=fork-pr]");
    await readerNotice.waitFor();
    expect(await readerNotice.textContent()).toContain("Awaiting approval");
    expect(await asReader.page.locator("[data-testid=fork-pr] button").count()).toBe(0);
    expect(await asReader.page.locator("button:has-text('Approve'), button:has-text('Decline')").count()).toBe(0);

    // The list: the run's badge and tag, and the status filter picks it.
    await asReader.page.goto(`${url}/workflows`);
    await asReader.page.locator(`tr[data-run="${runId}"] .status[data-status="awaiting_approval"]`).waitFor();
    expect(await asReader.page.textContent(`tr[data-run="${runId}"] [data-testid=fork-tag]`)).toBe("fork PR #41: needs approval");
    await asReader.page.selectOption("select[name=status]", "awaiting_approval");
    await asReader.page.waitForURL(/status=awaiting_approval/);
    await asReader.page.locator(`tr[data-run="${other}"]`).waitFor();
    await shot(asReader.page, "workflows-awaiting-approval");

    // A writer approves.
    const { page, seen } = await signedIn(writer);
    await page.goto(`${url}/workflows/${runId}`);
    const notice = page.locator("[data-testid=fork-pr]");
    await notice.waitFor();
    const text = (await notice.textContent())!;
    expect(text).toContain("Awaiting approval");
    expect(text).toContain("#41");
    expect(text).toContain(FORK.cloneUrl);
    expect(await page.textContent("[data-testid=head-sha]")).toBe(HEAD_SHA.slice(0, 12));
    expect(await page.textContent("[data-testid=base-sha]")).toBe(BASE_SHA.slice(0, 12));
    const view = (await api.call("GET", `/api/v1/workflows/${runId}`)).json;
    expect(text).toContain(`by ${view.fork_pr.author}`);
    await shot(page, "workflow-awaiting-approval");
    await page.click("[data-testid=fork-pr] button:has-text('Approve')");
    await page.locator('h1 .status[data-status="running"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid=approval][data-decision="approved"]').waitFor();
    expect(await page.textContent("[data-testid=approval]")).toContain("Approved by walt through the API or dashboard");
    expect(await page.locator("[data-testid=fork-pr] button").count()).toBe(0);
    expect(await page.textContent("[data-testid=fork-pr]")).not.toContain("Awaiting approval");
    await shot(page, "workflow-approved");
    const after = (await api.call("GET", `/api/v1/workflows/${runId}`)).json;
    expect(after).toMatchObject({ status: "running", fork_pr: { approval: { decision: "approved", by: "walt", via: "api" } } });
    // The other pull request still waits; the writer declines it.
    await page.goto(`${url}/workflows/${other}`);
    await page.click("[data-testid=fork-pr] button:has-text('Decline')");
    await page.locator('h1 .status[data-status="failure"]').waitFor({ timeout: 15_000 });
    expect(await page.textContent("[data-testid=approval]")).toContain("Declined by walt");
    expect((await api.call("GET", `/api/v1/workflows/${other}`)).json.reason).toBe("declined by walt");
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
    expect(asReader.seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);
});
