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

/** A text element whose colour is too close to what is behind it (WCAG contrast ratio, with where it is). */
export interface LowContrast {
  text: string;
  where: string;
  ratio: number;
}

/**
 * Every visible text node's element in `main` and the top bar whose text colour against its
 * effective background (the first opaque one up the tree) is under `min` (WCAG AA: 4.5 for body
 * text). Disabled controls are exempt, as WCAG exempts them.
 */
export async function lowContrast(page: Page, min = 4.5): Promise<LowContrast[]> {
  return page.evaluate((least) => {
    // This runs in the page: its DOM types are not this file's, so it is typed loosely.
    const doc = (globalThis as any).document;
    const style = (e: any) => (globalThis as any).getComputedStyle(e);
    const rgba = (c: string) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      const [r, g, b, a] = (m?.[1] ?? "0,0,0,0").split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r: r!, g: g!, b: b!, a: a ?? 1 };
    };
    const lum = ({ r, g, b }: { r: number; g: number; b: number }) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const behind = (e: any) => {
      for (let n = e; n; n = n.parentElement) {
        const c = rgba(style(n).backgroundColor);
        if (c.a > 0.5) return c;
      }
      return rgba(style(doc.documentElement).backgroundColor).a > 0.5 ? rgba(style(doc.documentElement).backgroundColor) : { r: 255, g: 255, b: 255, a: 1 };
    };
    const out: { text: string; where: string; ratio: number }[] = [];
    const seen = new Set<any>();
    const walker = doc.createTreeWalker(doc.body, 4 /* NodeFilter.SHOW_TEXT */);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const e = t.parentElement;
      if (!e || seen.has(e) || !t.textContent.trim() || !e.closest("main, .top") || e.closest("svg, .log, :disabled")) continue;
      seen.add(e);
      const s = style(e);
      const box = e.getBoundingClientRect();
      if (s.visibility === "hidden" || s.display === "none" || box.width === 0 || box.height === 0) continue;
      const fg = rgba(s.color);
      const bg = behind(e);
      // A translucent text colour (opacity-based dimming) is blended over its background first.
      const op = Number(s.opacity) * fg.a;
      const mixed = { r: fg.r * op + bg.r * (1 - op), g: fg.g * op + bg.g * (1 - op), b: fg.b * op + bg.b * (1 - op) };
      const [hi, lo] = [lum(mixed), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi! + 0.05) / (lo! + 0.05);
      if (ratio < least) out.push({ text: t.textContent.trim().slice(0, 40), where: `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`, ratio: Math.round(ratio * 100) / 100 });
    }
    return out;
  }, min);
}
