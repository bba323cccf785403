#!/usr/bin/env bun
/**
 * Runs the whole test suite (`bun test`, extra arguments passed through), then prints the plain
 * closing line `N passed, N failed`. Under CI=true a skipped or todo test fails the run.
 */
import { join } from "node:path";
import { makeRunTmp, removeRunTmp, RUN_TMP_ENV } from "../daemon/testing/run-tmp.ts";

const root = join(import.meta.dir, "..");
// Made here, not in the preload, so every process of the run inherits it (daemon/testing/run-tmp.ts).
const runTmp = makeRunTmp();
const proc = Bun.spawn([process.execPath, "test", "--timeout", "120000", ...process.argv.slice(2)], {
  cwd: root,
  stdout: "pipe",
  stderr: "pipe",
  env: { ...process.env, TMPDIR: runTmp, [RUN_TMP_ENV]: runTmp },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => proc.kill(signal));

let tail = "";
async function pump(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    out.write(text);
    tail = (tail + text).slice(-4000);
  }
}
await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
const code = await proc.exited;
removeRunTmp(runTmp);

const count = (word: string) => Number(tail.match(new RegExp(`^\\s*(\\d+) ${word}$`, "m"))?.[1] ?? 0);
const passed = count("pass");
const failed = count("fail");
const skipped = count("skip") + count("todo");
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
if (process.env.CI === "true" && skipped > 0) {
  console.error(`CI=true: ${skipped} test(s) skipped or todo; under CI every test must run.`);
  process.exit(1);
}
if (code === 0 && passed === 0) {
  console.error("no test ran");
  process.exit(1);
}
process.exit(code);
