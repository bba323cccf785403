#!/usr/bin/env bun
/**
 * The dashboard in Debian's Chromium against the compiled daemon: time from navigation to the
 * first render of a job page (a 10-line log) and of a 100,000-line log (every line loaded, the
 * last one drawn), each next to its floor measured in the same run: fetching the same log as
 * text over HTTP. Writes bench/results/dashboard.json. Env: DASHBOARD_BENCH_ROUNDS (default 5).
 */
import { consola } from "consola";
import { loadavg } from "node:os";
import { DESKTOP, launch } from "../daemon/dashboard/testing/browser.ts";
import { startStack } from "../daemon/dashboard/testing/stack.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const ROUNDS = Number(process.env.DASHBOARD_BENCH_ROUNDS ?? 5);
const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
const round = (n: number) => Math.round(n * 10) / 10;
const summary = (samples: number[]) => ({ p50_ms: round(percentile(samples, 50)), min_ms: round(Math.min(...samples)), max_ms: round(Math.max(...samples)) });

const [stack, browser] = await Promise.all([startStack(), launch()]);
try {
  await stack.call("POST", "/api/v1/projects", { name: "bench", default_image: "busybox" });
  const submit = async (name: string, command: string) => (await stack.call("POST", "/api/v1/jobs", { name, project: "bench", command, timeout: 600 })).json.id as string;
  const small = await submit("small", "for i in $(seq 1 10); do echo line $i; done");
  const big = await submit("big", 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo "line $i of the big log"; done');
  consola.info("running the jobs (a 100,000-line log goes through the worker, the API and the archive)");
  for (const id of [small, big]) if ((await stack.ended(id, 300_000)).status !== "success") throw new Error(`job ${id} failed`);
  const lines = (id: string) => stack.call("GET", `/api/v1/jobs/${id}`).then((r) => r.json.log_lines as number);

  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(stack.url + "/");
  await page.fill("#token", stack.admin);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=user]");

  /** Navigation to the page until its log shows `count` lines and the last one is drawn. */
  async function render(id: string, count: number): Promise<number> {
    await page.goto("about:blank");
    const t0 = performance.now();
    await page.goto(`${stack.url}/jobs/${id}`);
    await page.locator("[data-testid=log-state]", { hasText: new RegExp(`^${count} lines`) }).waitFor({ timeout: 60_000 });
    await page.locator(`.log-line[data-line="${count}"]`).waitFor();
    return performance.now() - t0;
  }
  async function fetchText(id: string): Promise<number> {
    const t0 = performance.now();
    const r = await fetch(`${stack.url}/api/v1/jobs/${id}/logs`, { headers: { authorization: `Bearer ${stack.admin}` } });
    await r.text();
    return performance.now() - t0;
  }

  const results: Record<string, unknown> = { rounds: ROUNDS, load_average_1m_at_start: loadAtStart };
  for (const [label, id] of [["job_page_10_lines", small], ["job_page_100000_lines", big]] as const) {
    const count = await lines(id);
    await render(id, count); // warm: the browser caches the bundle, as a returning user's does
    const page_ms: number[] = [];
    const text_ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      page_ms.push(await render(id, count));
      text_ms.push(await fetchText(id));
    }
    const rendered = summary(page_ms);
    const floor = summary(text_ms);
    results[label] = { log_lines: count, first_render: rendered, log_as_text_floor: floor, render_vs_text: round(rendered.p50_ms / Math.max(floor.p50_ms, 0.1)) };
    consola.success(`${label}: first render p50 ${rendered.p50_ms} ms; the log as text p50 ${floor.p50_ms} ms`);
  }
  const file = writeBenchResult({
    name: "dashboard",
    results,
    notes:
      "first_render: from navigation to the job page until its log shows every line and the last is drawn (the bundle cached); log_as_text_floor: GET /api/v1/jobs/{id}/logs over HTTP from Bun, the same bytes the page reads first",
  });
  consola.info(`wrote ${file}`);
} finally {
  await browser.close();
  await stack.stop();
}
