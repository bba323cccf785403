import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DESKTOP, launch, lowContrast, PHONE, shot, watch } from "./testing/browser.ts";
import { startStack, type Stack } from "./testing/stack.ts";
import { startHookReceiver } from "../notifications/testing/receivers.ts";
import { githubExample, githubHeaders, githubPush } from "../vcs/testing/payloads.ts";

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the compiled
 * daemon with a real worker: what a person signing in sees and can do. Screenshots of each page
 * go to test-output/dashboard/.
 */

const HOSTILE = "<img src=x onerror=alert(1)>";
// Functions handed to the page run there: its globals, declared for this file only. (A string to
// waitForFunction would be eval'd, which the dashboard's CSP rightly refuses.)
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): ArrayLike<{ textContent: string }> & Iterable<{ textContent: string }> };
declare function getComputedStyle(element: unknown): { color: string };
let stack: Stack;
let browser: Browser;
let reader: string;
let writer: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launch()]);
  const made = await stack.call("POST", "/api/v1/projects", { name: "web", default_image: "busybox", repo_url: `https://example.com/${HOSTILE}.git` });
  expect(made.status).toBe(201);
  reader = await stack.tokenFor("rita");
  writer = await stack.tokenFor("walt");
  await stack.call("PUT", "/api/v1/projects/web/members/rita", { role: "read" });
  await stack.call("PUT", "/api/v1/projects/web/members/walt", { role: "write" });
  await stack.call("PUT", "/api/v1/projects/web/secrets/DEPLOY_KEY", { value: "s3cr3t-value" });
}, 240_000);
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await stack?.stop();
}, 60_000);

async function submit(name: string, command: string, extra: Record<string, unknown> = {}) {
  const r = await stack.call("POST", "/api/v1/jobs", { name, command, project: "web", ...extra });
  expect(r.status).toBe(201);
  return r.json as { id: string };
}

/** A fresh browser profile signed in with `token` through the sign-in form. */
async function signedIn(token: string, viewport = DESKTOP, colorScheme: "light" | "dark" = "light"): Promise<{ page: Page; seen: ReturnType<typeof watch> }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, colorScheme });
  contexts.push(context);
  const page = await context.newPage();
  const seen = watch(page, stack.url);
  await page.goto(stack.url + "/");
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=user]");
  return { page, seen };
}

/** The log row whose text is exactly `text` (the runner's own header line quotes the command too). */
const logLine = (page: Page, text: string) => page.locator(".log-line .text").filter({ hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) });

describe("dashboard in Chromium", () => {
  test("sign in with a token: a wrong one is refused, the cookie is HttpOnly SameSite=Strict, sign-out ends the session", async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    contexts.push(context);
    const page = await context.newPage();
    const seen = watch(page, stack.url);
    await page.goto(stack.url + "/");
    await page.waitForSelector("#token");
    // A first visit is asked to sign in, not told a session ended.
    expect(await page.textContent(".signin")).not.toContain("session has ended");
    await shot(page, "signin");
    await page.fill("#token", "rcd_not-a-real-token");
    await page.click("button[type=submit]");
    await expect(page.locator(".error").textContent()).resolves.toContain("unknown, revoked or expired");
    await page.fill("#token", stack.admin);
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=user]");
    expect(await page.textContent("[data-testid=user]")).toBe("admin");
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "reactorcide_session", httpOnly: true, sameSite: "Strict", secure: false });
    expect(cookie!.value).not.toBe(stack.admin);
    // Scripts on the page cannot read it.
    expect(await page.evaluate("document.cookie")).toBe("");
    // A reload keeps the session.
    await page.reload();
    await page.waitForSelector("[data-testid=user]");
    await page.click("text=Sign out");
    await page.waitForSelector("#token");
    // The old cookie value no longer opens anything.
    const replay = await fetch(stack.url + "/api/v1/projects", { headers: { cookie: `reactorcide_session=${cookie!.value}` } });
    expect(replay.status).toBe(401);

    // A session ends with its token: revoked while the page is open, the next refresh asks to sign in again.
    const made = await stack.call("POST", "/api/v1/tokens", { name: "short-lived", user: "sam" });
    await page.fill("#token", made.json.token);
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=user]");
    expect(await page.textContent("[data-testid=user]")).toBe("sam");
    expect((await stack.call("DELETE", `/api/v1/tokens/${made.json.id}`)).status).toBe(200);
    await page.waitForSelector("text=Your session has ended or expired", { timeout: 10_000 });
    expect(await page.locator("#token").count()).toBe(1);
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);

  test("a job submitted through the API shows each log line in the page within a second of the job printing it", async () => {
    const { page, seen } = await signedIn(stack.admin);
    // The job prints only once the page follows its log (a file the test makes), so every line is a
    // live one however long a loaded machine takes to start the job or open the page.
    const go = `${stack.scratch}/live-${crypto.randomUUID()}`;
    const job = await submit("live", `echo waiting; while [ ! -e ${go} ]; do sleep 0.05; done; for i in 1 2 3 4 5; do echo "tick $i $(date +%s%3N)"; sleep 0.5; done`);
    await page.goto(`${stack.url}/jobs/${job.id}`);
    // The page itself notes when each row appears (its clock is this machine's, as the job's is), so
    // the figure is the dashboard's lag, not the time this test process takes to look.
    await page.evaluate(`(() => {
      window.__rows = [];
      new MutationObserver((changes) => {
        const at = Date.now();
        for (const c of changes) for (const n of c.addedNodes) if (n.classList && n.classList.contains("log-line")) window.__rows.push({ text: n.textContent, at });
      }).observe(document.body, { childList: true, subtree: true });
    })()`);
    // Following live: the job's first line came over the stream.
    await logLine(page, "waiting").waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=log-state]:has-text("live")').waitFor();
    await Bun.write(go, "");
    await page.locator(".log-line", { hasText: "tick 5 " }).waitFor({ timeout: 30_000 });
    const rows = (await page.evaluate("window.__rows")) as { text: string; at: number }[];
    const lags = [1, 2, 3, 4, 5].map((i) => {
      const first = rows.find((r) => r.text.includes(`tick ${i} `));
      return first ? first.at - Number(/tick \d+ (\d+)/.exec(first.text)![1]) : Infinity;
    });
    await page.waitForSelector('h1 .status[data-status="success"]', { timeout: 30_000 });
    await shot(page, "job-live");
    console.log(`log line lag in the page (ms): ${lags.join(", ")}`);
    expect(lags.filter((lag) => !(lag >= 0 && lag < 1000))).toEqual([]);
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);

  test("jobs page: newest first, statuses change without a reload, filters by status and name", async () => {
    const { page } = await signedIn(stack.admin);
    const job = await submit("filter-me", "sleep 1.5; echo done");
    await page.goto(stack.url + "/");
    const row = page.locator(`tr[data-job="${job.id}"]`);
    await row.waitFor();
    await page.locator(`tr[data-job="${job.id}"] .status[data-status="success"]`).waitFor({ timeout: 30_000 });
    expect(await page.locator("tbody tr").first().getAttribute("data-job")).toBe(job.id);
    await page.selectOption("select[name=status]", "success");
    await page.selectOption("select[name=project]", "web");
    await page.waitForURL(/project=web/);
    await page.fill("input[name=name]", "filter-me");
    await page.click("text=Filter");
    await page.waitForURL(/status=success/);
    expect(new URL(page.url()).searchParams.get("project")).toBe("web");
    await page.waitForFunction(() => [...document.querySelectorAll("tbody .job-name")].every((a: { textContent: string }) => a.textContent === "filter-me"));
    expect(await page.locator("tbody tr").count()).toBe(1);
    await shot(page, "jobs");
  }, 120_000);

  test("cancel stops a running job; retry runs it again as attempt 2", async () => {
    const { page } = await signedIn(writer);
    const job = await submit("long", 'echo started; sleep 120; echo "never printed"');
    await page.goto(`${stack.url}/jobs/${job.id}`);
    await logLine(page, "started").waitFor({ timeout: 30_000 });
    await page.click("button:has-text('Cancel')");
    await page.waitForSelector('h1 .status[data-status="cancelled"]', { timeout: 30_000 });
    expect((await stack.call("GET", `/api/v1/jobs/${job.id}`)).json.status).toBe("cancelled");
    await shot(page, "job-cancelled");

    const quick = await submit("again", "echo attempt-output");
    expect((await stack.ended(quick.id)).status).toBe("success");
    await page.goto(`${stack.url}/jobs/${quick.id}`);
    await page.click("button:has-text('Retry')");
    await page.waitForURL((u) => u.pathname.startsWith("/jobs/") && !u.pathname.endsWith(quick.id));
    await page.waitForSelector('h1 .status[data-status="success"]', { timeout: 30_000 });
    expect(await page.textContent("h1")).toContain("attempt 2");
    await logLine(page, "attempt-output").waitFor();
    const retryId = new URL(page.url()).pathname.split("/").at(-1)!;
    expect((await stack.call("GET", `/api/v1/jobs/${retryId}`)).json).toMatchObject({ retry_of: quick.id, attempt: 2, status: "success" });
  }, 120_000);

  test("log tools: #L links, search, follow off, raw download", async () => {
    const { page } = await signedIn(stack.admin);
    const job = await submit("tools", 'for i in $(seq 1 300); do echo "row $i"; done; echo "needle here"; echo "and a needle there"');
    await stack.ended(job.id);
    await page.goto(`${stack.url}/jobs/${job.id}#L42`);
    const line42 = page.locator('.log-line[data-line="42"]');
    await line42.waitFor();
    expect(await line42.getAttribute("class")).toContain("selected");
    expect(await line42.isVisible()).toBe(true);
    expect(await page.isChecked(".toggle input")).toBe(false);
    await page.click('.log-line[data-line="7"] .ln');
    expect(page.url()).toEndWith("#L7");
    // Case-insensitive; the runner's header line (line 1) quotes the command, so it matches too.
    await page.fill("input[type=search]", "NEEDLE");
    await expect(page.textContent("[data-testid=matches]")).resolves.toBe("1 of 3");
    await page.click("button[aria-label='Next match']");
    await expect(page.textContent("[data-testid=matches]")).resolves.toBe("2 of 3");
    await page.locator('.log-line.current[data-line="302"]').waitFor();
    expect(await page.textContent('.log-line[data-line="302"] .text')).toBe("needle here");
    await shot(page, "job-search");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Raw log")]);
    const saved = await download.path();
    const raw = await Bun.file(saved!).text();
    expect(raw).toBe((await stack.call("GET", `/api/v1/jobs/${job.id}/logs`)).text);
    expect(download.suggestedFilename()).toMatch(/^tools-[0-9a-f]{8}\.log$/);
  }, 120_000);

  test("ANSI colours are drawn; hostile names and log lines stay text (no dialog, no injected element, no CSP violation)", async () => {
    const { page, seen } = await signedIn(stack.admin);
    // printf's escapes: colour, a window-title OSC, a bell, clear-screen, a hyperlink, a backspace.
    const script = [
      `printf '\\033[31mred text\\033[0m plain \\033[1;32mbold green\\033[0m\\n'`,
      `echo '${HOSTILE}'`,
      `printf '\\033]0;pwned title\\007after-title \\033[2Jcleared? \\033]8;;https://evil.example/\\033\\\\link\\033]8;;\\033\\\\ bell\\007 back\\010space\\n'`,
      `echo '<script>alert(2)</script>'`,
    ].join("; ");
    const job = await submit("hostile", script, { env: { NOTE: HOSTILE } });
    expect((await stack.ended(job.id)).status).toBe("success");
    await page.goto(`${stack.url}/jobs/${job.id}`);
    await page.locator(".log-line .text span").getByText("red text", { exact: true }).waitFor();
    await page.click("summary:has-text('Command')");
    await page.waitForTimeout(300);
    await shot(page, "job-hostile");
    // Colour: the red span is red, the plain text is not coloured.
    const red = page.locator(".log-line .text span").getByText("red text", { exact: true });
    expect(await red.evaluate((el) => getComputedStyle(el).color)).toBe("rgb(187, 0, 0)");
    expect(await page.locator(".log-line .text span").getByText("bold green", { exact: true }).getAttribute("class")).toContain("ansi-bold");
    // The hostile text is there, as text.
    const texts = await page.locator(".log-line .text").allTextContents();
    expect(texts).toContain(HOSTILE);
    expect(texts).toContain("<script>alert(2)</script>");
    const escapes = texts.find((t) => t.startsWith("after-title"))!;
    expect(escapes).toContain("after-title cleared? link bell\u2407 back\u2408space");
    expect(escapes).not.toContain("\x1b");
    expect(await page.textContent("details.command pre")).toContain(HOSTILE);
    // Nothing became an element or ran.
    expect(await page.locator("main img, main svg, main script").count()).toBe(0);
    expect(await page.evaluate(`document.querySelectorAll("[onerror],[onload]").length`)).toBe(0);
    expect(await page.title()).toBe("Reactorcide");
    // A source whose URL and ref are markup (the clone fails; the page still shows them as text).
    const bad = await submit("hostile-source", "true", { source: { type: "git", url: `https://example.invalid/${HOSTILE}`, ref: `"><svg onload=alert(3)>` } });
    await stack.ended(bad.id);
    await page.goto(`${stack.url}/jobs/${bad.id}`);
    await page.waitForSelector("text=Exit code");
    expect(await page.textContent(".facts")).toContain(`https://example.invalid/${HOSTILE} @ "><svg onload=alert(3)>`);
    expect(await page.locator("main img, main svg").count()).toBe(0);
    // The project page shows the hostile repository URL as text too.
    await page.goto(`${stack.url}/projects/web`);
    await page.waitForSelector("input[name=repo_url]");
    expect(await page.inputValue("input[name=repo_url]")).toBe(`https://example.com/${HOSTILE}.git`);
    await page.goto(`${stack.url}/projects`);
    await page.waitForSelector("td.wide");
    expect(await page.textContent("tbody")).toContain(HOSTILE);
    expect(await page.locator("main img").count()).toBe(0);
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);

  test("a reader sees no buttons it cannot use; a 403 is explained", async () => {
    const job = await submit("for-reader", "echo read me");
    await stack.ended(job.id);
    const { page } = await signedIn(reader);
    await page.goto(`${stack.url}/jobs/${job.id}`);
    await logLine(page, "read me").waitFor();
    expect(await page.locator(".actions button").count()).toBe(0);
    await shot(page, "reader-job");
    await page.goto(`${stack.url}/projects/web`);
    await page.waitForSelector("input[name=repo_url]");
    expect(await page.isDisabled("input[name=repo_url]")).toBe(true);
    for (const field of ["input[name=fork_pr_trust_maintainers]", "input[name=fork_pr_secrets]", "select[name=fork_pr_network]", "select[name=fork_pr_policy]"])
      expect(await page.isDisabled(field)).toBe(true);
    expect(await page.locator("button:has-text('Save settings')").count()).toBe(0);
    expect(await page.locator("button:has-text('Set secret'), button:has-text('Delete'), button:has-text('Remove'), button:has-text('Add member')").count()).toBe(0);
    expect(await page.textContent("main")).not.toContain("DEPLOY_KEY");
    expect(await page.locator("[data-testid=deliveries]").count()).toBe(0);
    await shot(page, "reader-project");

    // A writer whose role is lowered after the page loaded presses Cancel: the page says why it was refused.
    const { page: w } = await signedIn(writer);
    const running = await submit("demoted", "echo up; sleep 60");
    await w.goto(`${stack.url}/jobs/${running.id}`);
    await logLine(w, "up").waitFor({ timeout: 30_000 });
    await stack.call("PUT", "/api/v1/projects/web/members/walt", { role: "read" });
    try {
      await w.click("button:has-text('Cancel')");
      const note = w.locator(".error[data-status='403']");
      await note.waitFor();
      expect(await note.textContent()).toContain("this needs the write role on project web; you have read");
      expect(await note.textContent()).toContain("Your role does not allow this");
      await shot(w, "writer-403");
    } finally {
      await stack.call("PUT", "/api/v1/projects/web/members/walt", { role: "write" });
      await stack.call("POST", `/api/v1/jobs/${running.id}/cancel`);
    }
  }, 120_000);

  test("projects: an admin changes settings (fork-PR policy), members and secrets; secret values are never shown", async () => {
    const { page, seen } = await signedIn(stack.admin);
    await page.goto(`${stack.url}/projects/web`);
    await page.waitForSelector("select[name=fork_pr_policy]");
    await page.selectOption("select[name=fork_pr_policy]", "never");
    await page.fill("input[name=default_branch]", "trunk");
    await page.click("button:has-text('Save settings')");
    await page.waitForSelector("text=Saved.");
    expect((await stack.call("GET", "/api/v1/projects/web")).json).toMatchObject({ fork_pr_policy: "never", default_branch: "trunk" });

    // The fork-PR settings: set all three, reload, they are kept.
    expect(await page.isChecked("input[name=fork_pr_trust_maintainers]")).toBe(true);
    expect(await page.inputValue("select[name=fork_pr_network]")).toBe("default");
    await page.uncheck("input[name=fork_pr_trust_maintainers]");
    await page.fill("input[name=fork_pr_secrets]", "DEPLOY_KEY, NPM_TOKEN");
    await page.selectOption("select[name=fork_pr_network]", "none");
    await page.click("button:has-text('Save settings')");
    await page.waitForSelector("text=Saved.");
    expect((await stack.call("GET", "/api/v1/projects/web")).json).toMatchObject({
      fork_pr_trust_maintainers: false,
      fork_pr_secrets: ["DEPLOY_KEY", "NPM_TOKEN"],
      fork_pr_network: "none",
    });
    await page.reload();
    await page.waitForSelector("input[name=fork_pr_secrets]");
    expect(await page.isChecked("input[name=fork_pr_trust_maintainers]")).toBe(false);
    expect(await page.inputValue("input[name=fork_pr_secrets]")).toBe("DEPLOY_KEY, NPM_TOKEN");
    expect(await page.inputValue("select[name=fork_pr_network]")).toBe("none");
    expect(await page.inputValue("select[name=fork_pr_policy]")).toBe("never");
    // A secret name the API refuses: its 400 shows beside that field, and nothing changed.
    await page.fill("input[name=fork_pr_secrets]", "DEPLOY_KEY, bad name!");
    await page.click("button:has-text('Save settings')");
    const beside = page.locator("label:has(input[name=fork_pr_secrets]) .error[data-status='400']");
    await beside.waitFor();
    expect(await beside.textContent()).toContain("fork_pr_secrets.1");
    expect(await page.locator(".settings > .error").count()).toBe(0);
    expect((await stack.call("GET", "/api/v1/projects/web")).json.fork_pr_secrets).toEqual(["DEPLOY_KEY", "NPM_TOKEN"]);
    await shot(page, "project-fork-settings-error");
    await page.fill("input[name=fork_pr_secrets]", "DEPLOY_KEY, NPM_TOKEN");
    await beside.waitFor({ state: "detached" });

    await page.fill("input[aria-label='secret name']", "NEW_SECRET");
    await page.fill("input[aria-label='secret value']", "value-never-shown");
    await page.click("button:has-text('Set secret')");
    await page.locator("code", { hasText: "NEW_SECRET" }).waitFor();
    expect(await page.textContent("main")).not.toContain("value-never-shown");
    expect(await page.textContent("main")).not.toContain("s3cr3t-value");
    const row = page.locator("tr", { has: page.locator("code", { hasText: "NEW_SECRET" }) });
    await row.locator("button:has-text('Delete')").click();
    await page.locator("code", { hasText: "NEW_SECRET" }).waitFor({ state: "detached" });
    expect((await stack.call("GET", "/api/v1/projects/web/secrets")).json.secrets.map((s: { key: string }) => s.key)).toEqual(["DEPLOY_KEY"]);

    await stack.tokenFor("newbie");
    await page.fill("input[aria-label='user name']", "newbie");
    await page.selectOption("select[aria-label='role']", "write");
    await page.click("button:has-text('Add member')");
    await page.locator("td", { hasText: "newbie" }).waitFor();
    expect((await stack.call("GET", "/api/v1/projects/web/members")).json.members).toContainEqual({ user: "newbie", role: "write" });
    await page.fill("input[aria-label='webhook secret']", "a-long-webhook-secret");
    await page.click("button:has-text('Set secret') >> nth=-1");
    await page.waitForSelector("text=set (GitHub: Secret");
    expect(await page.textContent("main")).toContain(`${stack.url}/api/v1/webhooks/github`);
    expect(await page.textContent("[data-testid=deliveries]")).toContain("No webhook delivery has arrived yet.");
    await shot(page, "project", { fullPage: true });
    await stack.call("PATCH", "/api/v1/projects/web", {
      fork_pr_policy: "approval",
      default_branch: "main",
      fork_pr_trust_maintainers: true,
      fork_pr_secrets: [],
      fork_pr_network: "default",
    });
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);

  test("deliveries: signed GitHub webhooks sent to the daemon show with event, ref, commit and outcome; a forged one is not recorded; redeliver under new settings", async () => {
    const secret = "hooks-webhook-secret-42";
    const repo = { cloneUrl: "http://127.0.0.1:9/acme/hooks.git", fullName: "acme/hooks" };
    const made = await stack.call("POST", "/api/v1/projects", { name: "hooks", repo_url: "https://github.example/acme/hooks", webhook_secret: secret, target_branches: ["main"], default_image: "busybox" });
    expect(made.status).toBe(201);
    const deliver = async (event: string, payload: unknown, key = secret) => {
      const body = JSON.stringify(payload);
      const r = await fetch(`${stack.url}/api/v1/webhooks/github`, { method: "POST", headers: await githubHeaders(key, event, body), body });
      return { status: r.status, json: (await r.json()) as { id: string; delivery_id: string } };
    };
    const { page, seen } = await signedIn(stack.admin);
    await page.goto(`${stack.url}/projects/hooks`);
    await page.locator("[data-testid=deliveries] .empty").waitFor();
    await shot(page, "deliveries-empty");

    // The ping GitHub sends when the hook is made, a push to main, a push to a branch the project does not build
    // (named as markup), and a push whose signature was made with another secret.
    const ping = githubExample("ping");
    ping.repository = githubPush(repo, { ref: "refs/heads/main", before: "0".repeat(40), after: "a".repeat(40) }).repository;
    const pinged = await deliver("ping", ping);
    const pushed = await deliver("push", githubPush(repo, { ref: "refs/heads/main", before: "b".repeat(40), after: "c".repeat(40) }));
    const hostileBranch = "<svg/onload=alert(5)>";
    const other = await deliver("push", githubPush(repo, { ref: `refs/heads/${hostileBranch}`, before: "d".repeat(40), after: "e".repeat(40) }));
    const forged = await deliver("push", githubPush(repo, { ref: "refs/heads/main", before: "1".repeat(40), after: "2".repeat(40) }), "not-the-secret");
    expect([pinged.status, pushed.status, other.status, forged.status]).toEqual([202, 202, 202, 401]);

    // They show without a reload, newest first, as what became of them.
    const row = (d: { json: { delivery_id: string } }) => page.locator(`[data-testid=deliveries] tr[data-delivery="${d.json.delivery_id}"]`);
    await row(pushed).and(page.locator('[data-outcome="accepted"]')).waitFor({ timeout: 20_000 });
    await row(other).and(page.locator('[data-outcome="filtered"]')).waitFor({ timeout: 20_000 });
    expect(await page.locator("[data-testid=deliveries] tbody tr").count()).toBe(3);
    expect(await page.locator("[data-testid=deliveries] tbody tr").first().getAttribute("data-delivery")).toBe(other.json.delivery_id);
    expect(await row(pinged).getAttribute("data-outcome")).toBe("ignored");
    expect(await row(pinged).textContent()).toContain("ping: the webhook");
    expect(await row(pushed).locator("td").first().textContent()).toBe("github push");
    expect(await row(pushed).locator("td.ref").textContent()).toBe("main cccccccc");
    const evalJob = (await stack.call("GET", "/api/v1/projects/hooks/deliveries")).json.deliveries.find((d: { delivery_id: string }) => d.delivery_id === pushed.json.delivery_id).eval_job_id;
    expect(await row(pushed).locator("a").getAttribute("href")).toBe(`/jobs/${evalJob}`);
    expect(await row(other).textContent()).toContain(`branch ${hostileBranch} matches none of the project's target_branches [main]`);
    expect(await page.locator("main svg, main img").count()).toBe(0);
    await shot(page, "deliveries", { fullPage: true });

    // The project now builds every branch: the filtered push, delivered again, starts its eval job.
    expect((await stack.call("PATCH", "/api/v1/projects/hooks", { target_branches: [] })).status).toBe(200);
    await row(other).locator("button:has-text('Redeliver')").click();
    await row(other).and(page.locator('[data-outcome="accepted"]')).waitFor({ timeout: 20_000 });
    expect(await row(other).locator("a:has-text('eval job')").count()).toBe(1);
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 120_000);

  test("notifications: an admin adds a webhook rule, sees a failing delivery with its error, sends a test that arrives", async () => {
    const secret = "dash-hook-secret-123";
    const hook = await startHookReceiver(secret, { down: true });
    const { page, seen } = await signedIn(stack.admin);
    await page.goto(`${stack.url}/projects/web`);
    await page.waitForSelector(".notifications");
    await page.selectOption("select[aria-label='notification type']", "webhook");
    await page.selectOption("select[aria-label='notify on']", "always");
    await page.fill("input[aria-label='webhook URL']", hook.url);
    await page.fill("input[aria-label='signing secret']", secret);
    await page.click(".notifications button:has-text('Add rule')");
    const row = page.locator(".notifications tr[data-rule]");
    await row.waitFor();
    expect(await row.textContent()).toContain(`webhook http://127.0.0.1:${hook.port}/… (signed)`);
    await row.locator("button:has-text('Send test')").click();
    await page.locator(".notifications .tag.failing").waitFor();
    expect(await row.locator(".error-text").textContent()).toContain(`POST http://127.0.0.1:${hook.port}`);
    await shot(page, "notifications-failing");
    hook.listen();
    await row.locator("button:has-text('Send test')").click();
    await page.locator('.notifications [data-state="delivered"]').waitFor();
    await expect(page.locator(".notifications .notice").textContent()).resolves.toBe("Test notification delivered.");
    const [got] = await hook.waitFor(1);
    expect(got!.verified).toBe(true);
    expect(got!.json).toMatchObject({ event: "test", project: { name: "web" } });
    expect(await page.content()).not.toContain(secret);
    await shot(page, "notifications");
    // A bad address is refused with the field named.
    await page.selectOption("select[aria-label='notification type']", "email");
    await page.fill("input[aria-label='recipients']", "not-an-address");
    await page.click(".notifications button:has-text('Add rule')");
    await expect(page.locator(".notifications .error").textContent()).resolves.toContain("target.to.0");
    await row.locator("button:has-text('Delete')").click();
    await page.locator(".notifications .empty").waitFor();
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
    await hook.stop();
  }, 120_000);

  test("a 100,000-line log: the page keeps a few rows in the DOM, finds and jumps to any line", async () => {
    const job = await submit("big", 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo "line $i of the big log"; done', { timeout: 600 });
    expect((await stack.ended(job.id, 180_000)).status).toBe("success");
    const { page, seen } = await signedIn(stack.admin);
    await page.goto(`${stack.url}/jobs/${job.id}`);
    await page.waitForFunction(() => /^1000\d\d lines$/.test(document.querySelector("[data-testid=log-state]")?.textContent ?? ""), undefined, { timeout: 60_000 });
    // Following, the view is at the end.
    await page.locator(".log-line .text", { hasText: "line 100000 of the big log" }).waitFor();
    expect(await page.locator(".log-line").count()).toBeLessThan(300);
    await page.fill("input[type=search]", "line 54321 of");
    await expect(page.textContent("[data-testid=matches]")).resolves.toBe("1 of 1");
    // Line 1 is the runner's header, so the job's line 54321 is the log's line 54322.
    await page.locator('.log-line.current[data-line="54322"]').waitFor();
    expect(await page.textContent('.log-line[data-line="54322"] .text')).toBe("line 54321 of the big log");
    expect(await page.locator(".log-line").count()).toBeLessThan(300);
    await page.goto(`${stack.url}/jobs/${job.id}#L77777`);
    await page.locator('.log-line.selected[data-line="77777"]').waitFor({ timeout: 30_000 });
    expect(await page.textContent('.log-line[data-line="77777"] .text')).toBe("line 77776 of the big log");
    await shot(page, "job-100k");
    expect(seen.errors).toEqual([]);
  }, 300_000);

  test("a workflow run drawn as a graph, live; retry failed; a job of steps shows its steps; cancel and retry a run", async () => {
    const { page, seen } = await signedIn(writer);
    const flag = `${stack.scratch}/flaky-${crypto.randomUUID()}`;
    const workflow = {
      jobs: {
        checkout: { command: "sleep 1; echo checked out" },
        unit: { needs: ["checkout"], steps: [{ name: "compile", run: "sleep 0.2; echo compiling" }, { name: "lint", run: "exit 3", continue_on_error: true }, { name: "test-suite", run: "echo testing" }, { name: "docs", run: "echo docs", if: "failure()" }] },
        // Fails on its first run, passes on the next: retry-failed makes it green.
        flaky: { needs: ["checkout"], command: `if [ -e ${flag} ]; then echo second try; else touch ${flag}; echo first try; exit 1; fi` },
        package: { needs: ["unit", "flaky"], command: "echo packaged" },
      },
    };
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const r = await stack.call("POST", "/api/v1/workflows", { project: "web", workflow, sha });
    expect(r.status).toBe(201);
    await page.goto(`${stack.url}/workflows/${r.json.id}`);
    await page.waitForSelector("[data-testid=graph] svg");
    const node = (name: string) => page.locator(`.graph [data-node="${name}"]`);
    // At first package waits; the graph follows the run without a reload.
    expect(await node("package").getAttribute("data-status")).toBe("waiting");
    for (const edge of ["checkout->unit", "checkout->flaky", "unit->package", "flaky->package"]) expect(await page.locator(`.graph [data-edge="${edge}"]`).count()).toBe(1);
    await page.locator('h1 .status[data-status="failure"]').waitFor({ timeout: 60_000 });
    expect(await node("flaky").getAttribute("data-status")).toBe("failure");
    expect(await node("unit").getAttribute("data-status")).toBe("success");
    expect(await node("package").getAttribute("data-status")).toBe("skipped");
    await shot(page, "workflow-failed");
    await page.click("button:has-text('Retry failed')");
    await page.locator('h1 .status[data-status="success"]').waitFor({ timeout: 60_000 });
    expect(await node("flaky").getAttribute("data-status")).toBe("success");
    await page.locator('.graph [data-node="package"][data-status="success"]').waitFor({ timeout: 30_000 });
    await shot(page, "workflow");
    // A node links to its job; the job of steps lists them.
    await page.click('.graph a:has([data-node="unit"])');
    await page.waitForSelector("[data-testid=steps]");
    // The job names its commit and its run.
    expect(await page.textContent("[data-testid=commit]")).toBe(sha.slice(0, 12));
    expect(await page.getAttribute("[data-testid=job-run]", "href")).toBe(`/workflows/${r.json.id}`);
    expect(await page.locator("[data-testid=steps] tbody tr td:first-child button").allTextContents()).toEqual(["compile", "lint", "test-suite", "docs"]);
    // Each step's result, as the runner reported it through the worker: status, exit code, duration.
    const cells = async (name: string) => (await page.locator(`[data-testid=steps] tr[data-step="${name}"] td`).allTextContents()).slice(0, 4);
    expect(await cells("compile")).toEqual(["compile", "success", expect.stringMatching(/^0\.[2-9]s$|^[1-9]\.\ds$/), "0"]);
    expect(await cells("lint")).toEqual(["lint", "failureignored", expect.stringMatching(/^\d+\.\ds$/), "3"]);
    expect(await cells("test-suite")).toEqual(["test-suite", "success", expect.stringMatching(/^\d+\.\ds$/), "0"]);
    expect(await cells("docs")).toEqual(["docsif failure()", "skipped", "—", "—"]);
    await shot(page, "job-steps");

    const slow = await stack.call("POST", "/api/v1/workflows", { project: "web", workflow: { jobs: { slow: { command: "sleep 120" }, after: { needs: ["slow"], command: "true" } } } });
    await page.goto(`${stack.url}/workflows/${slow.json.id}`);
    await page.locator('.graph [data-node="slow"][data-status="running"]').waitFor({ timeout: 30_000 });
    await page.click("button:has-text('Cancel run')");
    await page.locator('h1 .status[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    expect((await stack.call("GET", `/api/v1/workflows/${slow.json.id}`)).json.status).toBe("cancelled");
    await page.click("button:has-text('Retry run')");
    await page.waitForURL((u) => u.pathname.startsWith("/workflows/") && !u.pathname.endsWith(slow.json.id));
    const again = new URL(page.url()).pathname.split("/").at(-1)!;
    expect((await stack.call("GET", `/api/v1/workflows/${again}`)).json.retry_of).toBe(slow.json.id);
    await stack.call("POST", `/api/v1/workflows/${again}/cancel`);
    // The list shows the runs.
    await page.goto(`${stack.url}/workflows`);
    await page.locator(`tr[data-run="${r.json.id}"] .status[data-status="success"]`).waitFor();
    await shot(page, "workflows");
    expect(seen).toEqual({ dialogs: [], errors: [], foreign: [], csp: [] });
  }, 180_000);

  test("phone-sized screen: the jobs and job pages fit the width", async () => {
    const job = await submit("phone", "echo small screen");
    await stack.ended(job.id);
    const { page } = await signedIn(stack.admin, PHONE);
    await page.waitForSelector("tbody tr");
    const fits = () => page.evaluate("document.documentElement.scrollWidth <= window.innerWidth");
    expect(await fits()).toBe(true);
    await shot(page, "phone-jobs");
    await page.goto(`${stack.url}/jobs/${job.id}`);
    await logLine(page, "small screen").waitFor();
    expect(await fits()).toBe(true);
    await shot(page, "phone-job");
    await page.goto(`${stack.url}/projects/web`);
    await page.waitForSelector("input[name=repo_url]");
    expect(await fits()).toBe(true);
    await shot(page, "phone-project");
  }, 120_000);

  test("light and dark colour schemes: every page's text reads against its background (WCAG AA 4.5:1) and fits the width", async () => {
    const job = await submit("schemes", "echo colours");
    await stack.ended(job.id);
    const started = await stack.call("POST", "/api/v1/workflows", { project: "web", workflow: { jobs: { build: { command: "true" }, check: { needs: ["build"], command: "exit 1" }, ship: { needs: ["check"], command: "true" } } } });
    expect(started.status).toBe(201);
    const run = started.json.id as string;
    const pages: [string, string, string][] = [
      ["jobs", "/", "tbody tr"],
      ["job", `/jobs/${job.id}`, ".log-line"],
      ["workflows", "/workflows", "tbody tr"],
      ["workflow", `/workflows/${run}`, "[data-testid=graph] svg"],
      ["approvals", "/approvals", "[data-testid=nothing-waiting], [data-testid=awaiting]"],
      ["projects", "/projects", "tbody tr"],
      ["project", "/projects/web", "input[name=repo_url]"],
    ];
    const problems: unknown[] = [];
    for (const [viewport, colorScheme] of [[DESKTOP, "light"], [DESKTOP, "dark"], [PHONE, "dark"]] as const) {
      const context = await browser.newContext({ viewport, colorScheme });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(stack.url + "/");
      await page.waitForSelector("#token");
      const where = `${colorScheme}${viewport === PHONE ? "-phone" : ""}`;
      const check = async (name: string) => {
        const low = await lowContrast(page);
        const fits = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth);
        if (low.length || !fits) problems.push({ page: name, where, low, fits });
        if (colorScheme === "dark") await shot(page, `${where}-${name}`, { fullPage: name === "project" });
      };
      await check("signin");
      await page.fill("#token", stack.admin);
      await page.click("button[type=submit]");
      await page.waitForSelector("[data-testid=user]");
      for (const [name, path, ready] of pages) {
        await page.goto(stack.url + path);
        await page.locator(ready).first().waitFor({ timeout: 30_000 });
        await check(name);
      }
      await context.close();
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
