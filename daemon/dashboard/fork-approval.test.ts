/**
 * Approving a fork pull request's run from the dashboard (#16), in Chromium: the app built on a
 * fresh database (testApi, which serves the dashboard as serve does) behind a real HTTP port, a
 * fork pull request delivered as GitHub would send it (signed) with the GitHub stand-in answering
 * the daemon, its eval job moved as a worker would: a real run `awaiting_approval`, no containers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { VcsServices } from "../vcs/services.ts";
import { deliverAndProcess, runJobAsWorker, testApiWithGithub } from "../vcs/testing/fork-flow.ts";
import type { GithubStandIn } from "../vcs/testing/github-standin.ts";
import { githubPullRequest } from "../vcs/testing/payloads.ts";
import { DESKTOP, launch, lowContrast, PHONE, shot, watch } from "./testing/browser.ts";

const SECRET = "fork-approval-dashboard-secret";
const REPO = { cloneUrl: "http://127.0.0.1:9/acme/site.git", fullName: "acme/site" };
const FORK = { cloneUrl: "http://127.0.0.1:9/mallory/site.git", fullName: "mallory/site" };
const BASE_SHA = "b".repeat(40);
const HEAD_SHA = "a1".repeat(20);
let api: Awaited<ReturnType<typeof testApiWithGithub>>["api"];
let gh: GithubStandIn;
let vcs: VcsServices;
let stopApi = async () => {};
let server: ReturnType<typeof Bun.serve>;
let url: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  ({ api, gh, vcs, stop: stopApi } = await testApiWithGithub("ghp_site"));
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
  await stopApi();
}, 60_000);

async function signedIn(token: string, options: { viewport?: { width: number; height: number }; colorScheme?: "light" | "dark" } = {}): Promise<{ page: Page; seen: ReturnType<typeof watch> }> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP, colorScheme: options.colorScheme ?? "light" });
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
async function forkRun(number: number, headSha: string, o: { repo?: typeof REPO; fork?: typeof FORK; author?: string; workflow?: string } = {}) {
  const payload = githubPullRequest(o.repo ?? REPO, { action: "opened", number, baseRef: "main", baseSha: BASE_SHA, headRef: "patch", headSha, head: o.fork ?? FORK, association: "NONE" });
  if (o.author) payload.pull_request.user.login = o.author;
  const d = await deliverAndProcess(api, vcs, { provider: "github", secret: SECRET, event: "pull_request", payload });
  expect(d.outcome).toBe("accepted");
  await runJobAsWorker(api, d.eval_job_id, "success", [{ job_name: "test", workflow: o.workflow ?? "ci", job_command: "make test" }]);
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
    expect(await lowContrast(page)).toEqual([]);
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

  test("the Approvals page: waiting fork runs across the projects you may read; approve starts one, decline ends another; a reader sees no buttons; hostile names stay text; light and dark, desktop and phone", async () => {
    const HOSTILE = "<img src=x onerror=alert(1)>";
    const DOCS = { cloneUrl: "http://127.0.0.1:9/acme/docs.git", fullName: "acme/docs" };
    const made = await api.call("POST", "/api/v1/projects", { body: { name: "docs", repo_url: "https://github.example/acme/docs", webhook_secret: SECRET, vcs_token: "ghp_site", vcs_api_url: gh.url } });
    expect(made.status).toBe(201);
    const writer = await api.tokenFor("walt");
    const reader = await api.tokenFor("rita");
    const outsider = await api.tokenFor("olga");
    await api.call("PUT", "/api/v1/projects/site/members/walt", { body: { role: "write" } });
    await api.call("PUT", "/api/v1/projects/site/members/rita", { body: { role: "read" } });
    await api.call("PUT", "/api/v1/projects/docs/members/walt", { body: { role: "write" } });
    // Nothing waits yet for anyone (the first test decided its runs).
    const empty = await signedIn(writer);
    await empty.page.click("nav a:has-text('Approvals')");
    await empty.page.locator("[data-testid=nothing-waiting]").waitFor();
    expect(await empty.page.getAttribute("nav a:has-text('Approvals')", "aria-current")).toBe("page");
    expect(await empty.page.textContent("[data-testid=nothing-waiting]")).toBe("Nothing is waiting for approval.");
    await shot(empty.page, "approvals-empty");

    // A hostile author, fork URL and workflow name in site; a plain one in docs.
    const hostileFork = { cloneUrl: `http://127.0.0.1:9/${HOSTILE}/site.git`, fullName: "mallory/site" };
    const first = await forkRun(51, "e7".repeat(20), { author: HOSTILE, fork: hostileFork, workflow: `ci ${HOSTILE}` });
    const second = await forkRun(52, "f8".repeat(20), { repo: DOCS, fork: { cloneUrl: "http://127.0.0.1:9/eve/docs.git", fullName: "eve/docs" } });

    // The writer's list shows both without a reload, oldest first, each with its buttons.
    const entry = (page: Page, run: string) => page.locator(`li[data-testid=awaiting][data-run="${run}"]`);
    await entry(empty.page, second).waitFor({ timeout: 10_000 });
    const { page, seen } = empty;
    expect(await page.locator("li[data-testid=awaiting]").evaluateAll((els) => els.map((e) => e.getAttribute("data-run")))).toEqual([first, second]);
    const one = entry(page, first);
    expect(await one.locator(".project").textContent()).toBe("site");
    expect(await one.locator("[data-testid=pr]").textContent()).toBe("pull request #51");
    expect(await one.locator("[data-testid=run-link]").textContent()).toBe(`ci ${HOSTILE}`);
    expect(await one.locator("[data-testid=run-link]").getAttribute("href")).toBe(`/workflows/${first}`);
    expect(await one.locator("[data-testid=head-repo]").textContent()).toBe(hostileFork.cloneUrl);
    expect(await one.locator("[data-testid=author]").textContent()).toBe(HOSTILE);
    expect(await one.locator("[data-testid=waiting]").textContent()).toMatch(/^\d+(\.\d)?s$|^\d+m \d+s$/);
    expect(await entry(page, second).locator(".project").textContent()).toBe("docs");
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as any).document.querySelectorAll("[onerror]").length)).toBe(0);
    expect(await lowContrast(page)).toEqual([]);
    await shot(page, "approvals");

    // A reader of site: its run, no buttons, the reason; docs (not a member) not at all. An outsider sees nothing.
    const asReader = await signedIn(reader);
    await asReader.page.goto(`${url}/approvals`);
    await entry(asReader.page, first).waitFor();
    expect(await asReader.page.locator("li[data-testid=awaiting]").count()).toBe(1);
    expect(await asReader.page.locator("main button").count()).toBe(0);
    expect(await asReader.page.locator("[data-testid=waiting-count]").count()).toBe(0);
    expect(await entry(asReader.page, first).textContent()).toContain("you have the read role here; write access is needed to approve");
    await shot(asReader.page, "approvals-reader");
    const asOutsider = await signedIn(outsider);
    await asOutsider.page.goto(`${url}/approvals`);
    await asOutsider.page.locator("[data-testid=nothing-waiting]").waitFor();

    // Phone and dark: the same list fits and reads.
    for (const [viewport, colorScheme, name] of [[PHONE, "light", "approvals-phone"], [DESKTOP, "dark", "approvals-dark"], [PHONE, "dark", "approvals-phone-dark"]] as const) {
      const other = await signedIn(writer, { viewport, colorScheme });
      await other.page.goto(`${url}/approvals`);
      await entry(other.page, second).waitFor();
      // The top bar counts the runs waiting for this user's decision.
      expect(await other.page.textContent("nav [data-testid=waiting-count]")).toBe("2");
      expect({ name, fits: await other.page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth) }).toEqual({ name, fits: true });
      expect({ name, low: await lowContrast(other.page) }).toEqual({ name, low: [] });
      await shot(other.page, name, { fullPage: true });
      await other.page.context().close();
    }

    // Approve from the list: the run starts (running), leaves the list; the decision line links it.
    await one.locator("button:has-text('Approve')").click();
    const approved = page.locator(`[data-testid=decided] li[data-run="${first}"]`);
    await approved.locator('.status[data-status="running"]').waitFor({ timeout: 15_000 });
    expect(await approved.getAttribute("data-decision")).toBe("approve");
    expect(await approved.locator("a").getAttribute("href")).toBe(`/workflows/${first}`);
    expect(await entry(page, first).count()).toBe(0);
    await page.locator('nav [data-testid=waiting-count]:text-is("1")').waitFor({ timeout: 5_000 });
    expect((await api.call("GET", `/api/v1/workflows/${first}`)).json).toMatchObject({ status: "running", fork_pr: { approval: { decision: "approved", by: "walt" } } });
    // The reader's list follows without a reload.
    await entry(asReader.page, first).waitFor({ state: "detached", timeout: 10_000 });
    await asReader.page.locator("[data-testid=nothing-waiting]").waitFor();

    // Decline the other: it ends failure and leaves the list; nothing is left waiting.
    await entry(page, second).locator("button:has-text('Decline')").click();
    await page.locator(`[data-testid=decided] li[data-run="${second}"] .status[data-status="failure"]`).waitFor({ timeout: 15_000 });
    await page.locator("[data-testid=nothing-waiting]").waitFor();
    await page.locator("nav [data-testid=waiting-count]").waitFor({ state: "detached", timeout: 5_000 });
    expect((await api.call("GET", `/api/v1/workflows/${second}`)).json).toMatchObject({ status: "failure", reason: "declined by walt" });
    await shot(page, "approvals-decided");
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
    expect(asReader.seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);
});
