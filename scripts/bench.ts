#!/usr/bin/env bun
/**
 * Runs the benchmarks in bench/*.bench.ts, one process each, and lists the JSON files they
 * wrote under bench/results/. Usage: bun run bench [name-filter]...
 */
import { consola } from "consola";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const benchDir = join(import.meta.dir, "..", "bench");
const filters = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  consola.error(`no benchmark matches ${filters.join(", ") || "(any)"} in bench/`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  consola.start(`bench ${file}`);
  const proc = Bun.spawn([process.execPath, join(benchDir, file)], { stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) {
    consola.error(`${file} failed`);
    failed++;
  }
}
consola.info(`results in ${join(benchDir, "results")}`);
process.exit(failed ? 1 : 0);
