import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "../testing/processes.ts";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli, spawnCli } from "../testing/cli.ts";
import { commit, sh, workRepo } from "../git/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "reactorcide-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let binary = "";
beforeAll(async () => {
  binary = await ensureRunnerBinary();
}, 120_000);

let counter = 0;
const freshWorkspace = () => join(dir, `ws-${++counter}`);


/** Waits until the job has written the file (a shell creates it before it writes to it). */
async function waitFor(path: string): Promise<void> {
  const written = () => existsSync(path) && readFileSync(path, "utf8").endsWith("\n");
  for (let i = 0; i < 500 && !written(); i++) await Bun.sleep(10);
  if (!written()) throw new Error(`${path} never appeared`);
}

function gitRepo(name: string, files: Record<string, string>): string {
  const repo = join(dir, name);
  mkdirSync(repo, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(repo, file), text);
  const git = (...args: string[]) => {
    const proc = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], { cwd: repo });
    if (proc.exitCode !== 0) throw new Error(proc.stderr.toString());
  };
  git("init", "-q");
  git("add", ".");
  git("commit", "-q", "-m", "first");
  return repo;
}

describe("run", () => {
  test("runs the command in the job dir, keeps stdout and stderr apart, returns its exit code", async () => {
    const ws = freshWorkspace();
    const r = await runCli(["run", "--workspace", ws, "--job-command", "pwd; echo to-out; echo to-err >&2; exit 5"]);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`${ws}/src\nto-out\n`);
    expect(r.stdout).not.toMatch(/^to-err$/m);
    expect(r.stderr).toContain("to-err");
    expect(r.stderr).toContain("failed with exit code 5");
  });

  test("the job gets the environment its config gives it, not the runner's", async () => {
    const ws = freshWorkspace();
    const r = await runCli(["run", "--workspace", ws, "--job-env", "A=from-flag", "--job-command", "env"], {
      // An empty secret setting masks nothing, so the values can be read back (all are masked by default).
      env: { RUNNER_SECRET_THING: "runner-only", REACTORCIDE_JOB_ENV: "B=from-env", REACTORCIDE_SECRET_ENV_NAMES: "" },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("A=from-flag\n");
    expect(r.stdout).toContain("B=from-env\n");
    expect(r.stdout).not.toContain("runner-only");
    // The only runner variables a job gets are what the runner's own tools need inside it:
    // where to register secrets, the workspace as the job sees it, and its name.
    expect(r.stdout).not.toMatch(/^REACTORCIDE_(?!SECRETS_SOCKET=|WORKSPACE=|JOB_NAME=)/m);
    expect(r.stdout).toContain(`REACTORCIDE_WORKSPACE=${ws}\n`);
  });

  test("a reader that goes away (| head -1) neither crashes the runner nor cuts the job short", async () => {
    const ws = freshWorkspace();
    const marker = join(dir, "after-epipe.marker");
    const script = `"$0" run --workspace "$1" --job-command "seq 1 200000; touch $2; exit 3" | head -1; echo "rc=\${PIPESTATUS[0]}"`;
    const proc = Bun.spawn(["bash", "-c", script, binary, ws, marker], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" } });
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(out).toContain("rc=3");
    expect(err).not.toContain("EPIPE");
    expect(existsSync(marker)).toBe(true);
  });

  test("--timeout ends the job and its children and exits 124 with a clear message", async () => {
    const ws = freshWorkspace();
    const pidFile = join(dir, "t.pid");
    const r = await runCli(["run", "--workspace", ws, "--timeout", "1", "--grace-period", "1", "--job-command", `sleep 300 & echo $! > ${pidFile}; wait`]);
    expect(r.code).toBe(124);
    expect(r.stderr).toContain("timed out after 1 s");
    expect(isAlive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
  });

  for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    test(`${signal} is forwarded to the job's process group; exit ${code}; no grandchild left`, async () => {
      const ws = freshWorkspace();
      const pidFile = join(dir, `${signal}.pid`);
      const proc = spawnCli(binary, ["run", "--workspace", ws, "--grace-period", "2", "--job-command", `sleep 300 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; wait`]);
      await waitFor(pidFile);
      const grandchild = Number(readFileSync(pidFile, "utf8"));
      expect(isAlive(grandchild)).toBe(true);
      proc.kill(signal);
      const [exit, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect(exit).toBe(code);
      expect(stderr).toContain(`received ${signal}`);
      expect(isAlive(grandchild)).toBe(false);
    });
  }

  test("a job ignoring SIGTERM is killed after the grace period", async () => {
    const ws = freshWorkspace();
    const ready = join(dir, "trap.ready");
    const proc = spawnCli(binary, ["run", "--workspace", ws, "--grace-period", "1", "--job-command", `trap '' TERM; echo > ${ready}; while :; do sleep 0.1; done`]);
    await waitFor(ready);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
  });

  test.each([
    [["--code-dir", "/jobx"], "--code-dir"],
    [["--job-dir", "/job/../etc"], "--job-dir"],
    [["--code-dir", "src"], "--code-dir"],
    [["--job-env", "/etc/passwd"], "--job-env"],
    [["--job-env", "/job/../../etc/passwd"], "--job-env"],
  ])("refuses %p before running anything (names %s, exit 2)", async (flags, field) => {
    const ws = freshWorkspace();
    const marker = join(dir, `ran-${counter}`);
    const r = await runCli(["run", "--workspace", ws, ...flags, "--job-command", `touch ${marker}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${field}:`);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(ws)).toBe(false);
  });

  test("an env file inside the workspace is read; a symlink in it pointing out is refused", async () => {
    const ws = freshWorkspace();
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, "job.env"), "FROM_FILE=yes\n");
    const ok = await runCli(["run", "--workspace", ws, "--job-env", "/job/job.env", "--secret-env-names", "", "--job-command", "echo $FROM_FILE"]);
    expect(ok.stdout).toContain("yes\n");
    writeFileSync(join(dir, "outside.env"), "STOLEN=1\n");
    symlinkSync(join(dir, "outside.env"), join(ws, "evil.env"));
    const bad = await runCli(["run", "--workspace", ws, "--job-env", "/job/evil.env", "--job-command", "echo $STOLEN"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--job-env: resolves outside the workspace");
  });

  test("--dry-run prints the configuration with job env values hidden, the plan, and runs nothing", async () => {
    const ws = freshWorkspace();
    const marker = join(dir, "dry.marker");
    const r = await runCli(["run", "--dry-run", "--workspace", ws, "--job-env", "TOKEN=very-secret-value", "--source-type", "git", "--source-url", "https://example.com/r.git", "--job-command", `touch ${marker}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("TOKEN");
    expect(r.stdout).not.toContain("very-secret-value");
    expect(r.stdout).toMatch(/job_command\s+touch/);
    expect(r.stdout).toContain("prepare source: git https://example.com/r.git → /job/src");
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(ws)).toBe(false);
  });
});

describe("source preparation failures", () => {
  test("name the field (ci_source.* for the job code), exit 1, run nothing", async () => {
    const marker = join(dir, "src-fail.marker");
    const missing = await runCli(["run", "--workspace", freshWorkspace(), "--source-type", "copy", "--source-url", join(dir, "no-such-dir"), "--job-command", `touch ${marker}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("source.url: ");
    const hostile = await runCli(["run", "--workspace", freshWorkspace(), "--ci-source-type", "git", "--ci-source-url", "--upload-pack=touch /tmp/pwned", "--job-command", `touch ${marker}`]);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain("ci_source.url: ");
    expect(existsSync(marker)).toBe(false);
  });
});

describe("pull request sources (refs/pull/N/head, refs/merge-requests/N/head)", () => {
  /** A bare remote like a forge's: main, plus a pull request and a merge request only reachable through their refs. */
  let remote = "";
  beforeAll(() => {
    const work = workRepo(join(dir, "pr-work"));
    commit(work, "main", { "who.txt": "main\n" });
    sh(work, "checkout", "-q", "-b", "contribution");
    commit(work, "pr 7", { "who.txt": "pull request 7\n" });
    sh(work, "checkout", "-q", "-b", "mr", "main");
    commit(work, "mr 3", { "who.txt": "merge request 3\n" });
    remote = join(dir, "pr-remote.git");
    sh(work, "init", "-q", "--bare", "-b", "main", remote);
    sh(work, "push", "-q", remote, "main", "contribution:refs/pull/7/head", "mr:refs/merge-requests/3/head");
  });

  test("run --pr-number 7 checks out refs/pull/7/head; REACTORCIDE_PR_NUMBER does the same", async () => {
    const byFlag = await runCli(["run", "--workspace", freshWorkspace(), "--source-type", "git", "--source-url", remote, "--pr-number", "7", "--job-command", "cat who.txt"]);
    expect(byFlag.code).toBe(0);
    expect(byFlag.stdout).toContain("pull request 7\n");
    expect(byFlag.stdout + byFlag.stderr).toContain("refs/pull/7/head");
    const byEnv = await runCli(["run", "--workspace", freshWorkspace(), "--source-type", "git", "--source-url", remote, "--job-command", "cat who.txt"], { env: { REACTORCIDE_PR_NUMBER: "3" } });
    expect(byEnv.code).toBe(0);
    expect(byEnv.stdout).toContain("merge request 3\n");
  });

  test("run-job takes the number from the job env (as eval's triggers set it); the dry-run plan shows it", async () => {
    const job = join(dir, "job-pr.yaml");
    writeFileSync(job, `name: pr-job\nsource:\n  type: git\n  url: ${remote}\nenv:\n  REACTORCIDE_PR_NUMBER: "7"\ncommand: cat who.txt\n`);
    const r = await runCli(["run-job", job, "--workspace", freshWorkspace()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("pull request 7\n");
    const plan = await runCli(["run-job", job, "--workspace", freshWorkspace(), "--dry-run"]);
    expect(plan.stdout).toContain(`prepare source: git ${remote} (pull request 7) → /job/src`);
  });

  test("a hostile or unknown number is refused naming where it came from, and nothing runs", async () => {
    const marker = join(dir, "pr-fail.marker");
    const hostile = await runCli(["run", "--workspace", freshWorkspace(), "--source-type", "git", "--source-url", remote, "--job-command", `touch ${marker}`], { env: { REACTORCIDE_PR_NUMBER: "7; touch /tmp/pwned" } });
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).toContain("REACTORCIDE_PR_NUMBER: ");
    expect(hostile.stderr).toContain("a positive whole number");
    const missing = await runCli(["run", "--workspace", freshWorkspace(), "--source-type", "git", "--source-url", remote, "--pr-number", "99", "--job-command", `touch ${marker}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--pr-number: pull request 99 was not found");
    expect(missing.stderr).toContain("refs/pull/99/head");
    expect(existsSync(marker)).toBe(false);
  });
});

describe("run-job", () => {
  test("runs a YAML job against a real git repository, with its env, live output and exit code", async () => {
    const repo = gitRepo("repo-a", { "hello.txt": "hello from the repo\n" });
    const ws = freshWorkspace();
    const job = join(dir, "job-a.yaml");
    writeFileSync(job, `name: job-a\nsource:\n  type: git\n  url: ${repo}\n  ref: main\nenv:\n  WHO: yaml\ncommand: cat hello.txt; echo "by $WHO"; git rev-parse --short HEAD; exit 3\n`);
    const r = await runCli(["run-job", job, "--workspace", ws, "--secret-env-names", ""]);
    expect(r.stdout).toContain("hello from the repo\nby yaml\n");
    expect(r.code).toBe(3);
    expect(existsSync(join(ws, "src", "hello.txt"))).toBe(true);
  });

  test("dual source: job code into /job/ci, source into /job/src; flags beat the job file", async () => {
    const ci = gitRepo("repo-ci", { "check.sh": "echo ci-says-$(cat /dev/stdin 2>/dev/null || true)\n" });
    const src = gitRepo("repo-src", { "app.txt": "app\n" });
    const ws = freshWorkspace();
    const job = join(dir, "job-dual.json");
    writeFileSync(job, JSON.stringify({ ci_source: { type: "git", url: ci }, source: { type: "copy", url: join(dir, "nowhere") }, command: "echo from-file" }));
    const r = await runCli(["run-job", job, "--workspace", ws, "--source-type", "git", "--source-url", src, "--job-command", "ls ../ci; cat app.txt"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("check.sh\napp\n");
    expect(r.stdout).not.toContain("from-file");
  });

  test("unknown job fields are refused, each named, exit 2", async () => {
    const job = join(dir, "job-bad.yaml");
    writeFileSync(job, "command: echo hi\nimage_name: x\nresources:\n  memory: lots\n");
    const r = await runCli(["run-job", job, "--workspace", freshWorkspace()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("image_name: unknown field");
    expect(r.stderr).toContain("resources.memory");
    expect(r.stdout).not.toContain("hi");
  });
});

describe("config", () => {
  test("--json shows each value and where it came from: default, environment, job file or flag", async () => {
    const job = join(dir, "job-config.yaml");
    writeFileSync(job, "name: from-file\ntimeout: 30\nenv:\n  SECRET_ISH: do-not-print\n");
    const r = await runCli(["config", job, "--json", "--grace-period", "4", "--timeout", "60"], { env: { REACTORCIDE_IMAGE: "img:env", REACTORCIDE_TIMEOUT: "10" } });
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as { fields: { name: string; value: unknown; origin: string }[]; job_env: { name: string; value: string }[] };
    const field = (name: string) => view.fields.find((f) => f.name === name);
    expect(field("name")).toMatchObject({ value: "from-file", origin: "job file" });
    expect(field("image")).toMatchObject({ value: "img:env", origin: "environment" });
    expect(field("timeout")).toMatchObject({ value: 60, origin: "flag" });
    expect(field("grace_period")).toMatchObject({ value: 4, origin: "flag" });
    expect(field("code_dir")).toMatchObject({ value: "/job/src", origin: "default" });
    expect(view.job_env).toEqual([{ name: "SECRET_ISH", value: "****", origin: "job file" } as never]);
    expect(r.stdout).not.toContain("do-not-print");
  });
});

describe("validate", () => {
  test("lists every problem at once with field, allowed values and a suggestion; exit 1", async () => {
    const r = await runCli(["validate", "--json", "--runtime", "lxc", "--pids", "2", "--source-type", "git"], { env: { REACTORCIDE_CODE_DIR: "/etc" } });
    expect(r.code).toBe(1);
    const { valid, problems } = JSON.parse(r.stdout) as { valid: boolean; problems: { field: string; allowed?: string; suggestion?: string }[] };
    expect(valid).toBe(false);
    expect(problems.map((p) => p.field).sort()).toEqual(["--pids", "--runtime", "REACTORCIDE_CODE_DIR", "job_command", "source_url"].sort());
    for (const p of problems) expect(p.allowed ?? p.suggestion).toBeTruthy();
  });

  test("warnings alone exit 0; human output names each", async () => {
    const r = await runCli(["validate", "--job-command", "true", "--source-url", "https://example.com/x.git", "--workspace", freshWorkspace()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("--source-url: ignored");
    expect(r.stdout + r.stderr).toContain("configuration is valid (1 warning(s))");
  });

  test("a missing image is an error naming the image", async () => {
    const r = await runCli(["validate", "--json", "--job-command", "true", "--image", "reactorcide/none:missing", "--workspace", freshWorkspace()]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems[0]).toMatchObject({ field: "--image" });
  });
});

describe("cleanup", () => {
  test("empties the workspace; a symlink in it is removed, not followed", async () => {
    const ws = freshWorkspace();
    const outside = join(dir, "keep-me");
    mkdirSync(join(outside), { recursive: true });
    writeFileSync(join(outside, "precious.txt"), "keep");
    mkdirSync(join(ws, "src", "deep"), { recursive: true });
    writeFileSync(join(ws, "src", "deep", "f"), "x");
    symlinkSync(outside, join(ws, "link"));
    const r = await runCli(["cleanup", "--workspace", ws, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).removed.sort()).toEqual(["link", "src"]);
    expect(readdirSync(ws)).toEqual([]);
    expect(readFileSync(join(outside, "precious.txt"), "utf8")).toBe("keep");
  });

  test.each([["/"], ["/etc"], ["."], [".."]])("refuses workspace %p (exit 2)", async (workspace) => {
    const cwd = join(dir, "cwd-check");
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, "stay.txt"), "stay");
    const r = await runCli(["cleanup", "--workspace", workspace], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("refusing");
    expect(existsSync(join(cwd, "stay.txt"))).toBe(true);
  });
});
