import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../config/resolve.ts";
import { Output } from "../output/output.ts";
import { Masker } from "../secrets/masker.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { runResolved } from "./pipeline.ts";

const SECRET = "hunter2-very-secret";
const dir = mkdtempSync(join(tmpdir(), "reactorcide-pipeline-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An Output whose masker knows SECRET, writing into strings. */
function capture() {
  const masker = new Masker();
  masker.register([SECRET]);
  const text = { stdout: "", stderr: "" };
  const decoder = new TextDecoder();
  const sink = (key: "stdout" | "stderr") => ({ write: (t: string | Uint8Array) => (text[key] += typeof t === "string" ? t : decoder.decode(t)) });
  return { output: new Output({ masker, stdout: sink("stdout"), stderr: sink("stderr") }), text };
}

const resolve = (flags: Record<string, string | boolean>) => resolveConfig({ env: {}, flags: { workspace: join(dir, "ws"), ...flags }, cwd: dir, inContainer: false });

describe("everything the runner prints goes through one Masker", () => {
  test("job stdout and stderr, the runner's own messages (which quote the command) and the exit", async () => {
    const { output, text } = capture();
    const code = await runResolved(resolve({ "job-command": `echo ${SECRET}; echo "x${SECRET}y" >&2; exit 4` }), output);
    expect(code).toBe(4);
    expect(text.stdout + text.stderr).not.toContain(SECRET);
    expect(text.stdout).toContain("***\n");
    expect(text.stderr).toContain("x***y\n");
    expect(text.stdout + text.stderr).toContain("echo ***");
  });

  test("error messages", async () => {
    const { output, text } = capture();
    const code = await runResolved(resolve({ "job-command": "true", "code-dir": `/tmp/${SECRET}` }), output);
    expect(code).toBe(2);
    expect(text.stderr).toContain("--code-dir");
    expect(text.stderr).toContain("/tmp/***");
    expect(text.stdout + text.stderr).not.toContain(SECRET);
  });

  test("dry-run output and the printed container command", { timeout: 600_000 }, async () => {
    const { output, text } = capture();
    // A dry run checks the image like a real run, so it must exist.
    const image = await ensureRunnerImage();
    const code = await runResolved(resolve({ "job-command": `deploy --token ${SECRET}`, image, "dry-run": true }), output);
    expect(code).toBe(0);
    expect(text.stdout + text.stderr).not.toContain(SECRET);
    expect(text.stdout).toContain("Container command:");
    expect(text.stdout).toContain("deploy --token ***");
  });
});
