import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobStream } from "../output/output.ts";
import { inPlaceEnvironment } from "../run/environment.ts";
import { isAlive } from "../testing/processes.ts";
import { execJob, EXIT_TIMEOUT } from "./process.ts";

const dir = mkdtempSync(join(tmpdir(), "reactorcide-exec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collector(onText?: (text: string) => void): JobStream & { text: () => string } {
  let text = "";
  const decoder = new TextDecoder();
  return {
    write(chunk) {
      text += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      onText?.(text);
    },
    end() {},
    text: () => text,
  };
}


function run(command: string, opts: { timeout?: number; grace?: number; env?: Record<string, string>; onStdout?: (t: string) => void } = {}) {
  const stdout = collector(opts.onStdout);
  const stderr = collector();
  const result = execJob({
    argv: ["/bin/sh", "-c", command],
    cwd: dir,
    env: inPlaceEnvironment(opts.env ?? {}),
    stdout,
    stderr,
    timeoutSeconds: opts.timeout ?? 0,
    graceSeconds: opts.grace ?? 1,
  });
  return { result, stdout, stderr };
}

describe("execJob", () => {
  test("streams output live: the job waits for the test to see its first line", async () => {
    const go = join(dir, "go");
    const { result, stdout } = run(`echo first; while [ ! -f ${go} ]; do sleep 0.05; done; echo second`, {
      onStdout: (text) => text.includes("first") && writeFileSync(go, ""),
    });
    expect((await result).exitCode).toBe(0);
    expect(stdout.text()).toBe("first\nsecond\n");
  });

  test("stdout and stderr stay apart and the job's exit code is returned", async () => {
    const { result, stdout, stderr } = run("echo out; echo err >&2; exit 7");
    expect(await result).toEqual({ exitCode: 7, reason: "exited" });
    expect(stdout.text()).toBe("out\n");
    expect(stderr.text()).toBe("err\n");
  });

  test("the job sees only its own environment plus PATH and HOME", async () => {
    process.env.REACTORCIDE_LEAK_CHECK = "runner-only";
    const { result, stdout } = run("env", { env: { JOB_VAR: "mine" } });
    await result;
    delete process.env.REACTORCIDE_LEAK_CHECK;
    const names = stdout.text().trim().split("\n").map((l) => l.split("=")[0]).sort();
    expect(stdout.text()).toContain("JOB_VAR=mine");
    expect(stdout.text()).not.toContain("runner-only");
    // PWD (and SHLVL with some shells) are set by sh itself.
    expect(names.filter((n) => !["PWD", "SHLVL", "OLDPWD", "_"].includes(n!))).toEqual(["HOME", "JOB_VAR", "PATH"]);
  });

  test("a timeout ends the whole process group and exits 124", async () => {
    const pidFile = join(dir, "timeout.pid");
    const { result } = run(`sleep 300 & echo $! > ${pidFile}; wait`, { timeout: 1, grace: 1 });
    expect(await result).toEqual({ exitCode: EXIT_TIMEOUT, reason: "timeout" });
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    expect(grandchild).toBeGreaterThan(0);
    expect(isAlive(grandchild)).toBe(false);
  });

  test("a job that ignores SIGTERM is killed after the grace period", async () => {
    const { result } = run("trap '' TERM; sleep 300 & wait; sleep 300", { timeout: 1, grace: 1 });
    expect((await result).exitCode).toBe(EXIT_TIMEOUT);
  });

  test("processes the job leaves behind are ended with it", async () => {
    const pidFile = join(dir, "leftover.pid");
    const { result } = run(`(sleep 300 >/dev/null 2>&1 &) ; sleep 300 >/dev/null 2>&1 & echo $! > ${pidFile}`);
    expect((await result).exitCode).toBe(0);
    expect(existsSync(pidFile)).toBe(true);
    expect(isAlive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
  });
});
