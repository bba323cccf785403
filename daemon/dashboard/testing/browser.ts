import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium, the one .ci/run installs (never a browser playwright downloads). */
export const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Screenshots go here (gitignored): look at them to see what a person sees. */
export const SCREENSHOTS = join(import.meta.dir, "..", "..", "..", "test-output", "dashboard");

export async function launch(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** The viewport as a person sees it; `fullPage` for a page longer than the screen (the project page). */
export async function shot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? false });
}

/**
 * Everything a page does that an injected script or element would: dialogs (alert), console
 * errors, requests to other origins, CSP violations. A test asserts the lists stay empty.
 */
export function watch(page: Page, origin: string) {
  const seen = { dialogs: [] as string[], errors: [] as string[], foreign: [] as string[], csp: [] as string[] };
  page.on("dialog", (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => seen.errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) seen.csp.push(m.text());
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) seen.foreign.push(r.url());
  });
  return seen;
}
