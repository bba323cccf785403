import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../testing/cli.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";
import type { TriggerPayload } from "../protocol/trigger.ts";

const tempDir = useTempDirs("rc-eval");

function git(dir: string, ...args: string[]) {
  const r = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
}

function write(root: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const WORKFLOW = `
name: ci
on: { events: [push, pull_request_opened, pull_request_updated] }
jobs:
  test:
    command: make test
    env: { LEVEL: unit }
    on: { paths: ["src/**"] }
  build:
    needs: [test]
    command: make build
  deploy:
    needs: [build]
    command: make deploy
    image: deployer:1
    on: { events: [push], branches: [main] }
`;
const DOCS_JOB = `
command: make docs
on: { paths: ["docs/**", "!docs/drafts/**"] }
`;

/** A repository with the CI definitions and a second commit that touched src/. */
function repository(): string {
  const repo = tempDir();
  git(repo, "init", "-q", "-b", "main");
  write(repo, { ".reactorcide/workflows/ci.yaml": WORKFLOW, ".reactorcide/jobs/docs.yaml": DOCS_JOB, "README.md": "x\n" });
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "base");
  write(repo, { "src/app.ts": "export {};\n" });
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "change src");
  return repo;
}

async function evalCli(args: string[]) {
  const r = await runCli(["eval", ...args]);
  return { ...r, all: r.stdout + r.stderr };
}

function triggers(ws: string): TriggerPayload {
  return JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8"));
}

describe("eval", () => {
  test("push to main: changed files from git select the workflow jobs, with the event in their env", async () => {
    const repo = repository();
    const ws = tempDir();
    const r = await evalCli(["--event-type", "push", "--branch", "main", "--ci-dir", repo, "--workspace", ws, "--pr-number", "7"]);
    expect(r.code).toBe(0);
    const payload = triggers(ws);
    expect(payload.jobs.map((j) => [j.job_name, j.depends_on])).toEqual([
      ["test", []],
      ["build", ["test"]],
      ["deploy", ["build"]],
    ]);
    const test0 = payload.jobs[0]!;
    expect(test0.job_command).toBe("make test");
    expect(test0.env).toMatchObject({ LEVEL: "unit", REACTORCIDE_EVENT_TYPE: "push", REACTORCIDE_BRANCH: "main", REACTORCIDE_PR_NUMBER: "7" });
    expect(test0.env?.REACTORCIDE_SHA).toMatch(/^[0-9a-f]{40}$/);
    expect(payload.jobs[2]?.container_image).toBe("deployer:1");
    expect(r.stdout).toContain("::reactorcide::trigger::");
    expect(r.all).toContain("skip docs (.reactorcide/jobs/docs.yaml): no changed file matches the path rules");
  });

  test("--workspace means what it means to run: the CI checkout is found in <workspace>/ci, triggers go to <workspace>", async () => {
    const ws = tempDir();
    // The workspace as `run --ci-source-url REPO --workspace WS` leaves it: the checkout in ci/.
    const prepared = await runCli(["run", "--workspace", ws, "--ci-source-type", "git", "--ci-source-url", repository(), "--job-command", "true"]);
    expect(prepared.code).toBe(0);
    const r = await evalCli(["--event-type", "push", "--branch", "main", "--workspace", ws, "--changed-file", "src/app.ts"]);
    expect(r.code).toBe(0);
    expect(triggers(ws).jobs.map((j) => j.job_name)).toEqual(["test", "build", "deploy"]);
  });

  test("given changed files and a pull request to a feature branch", async () => {
    const repo = repository();
    const ws = tempDir();
    const r = await evalCli([
      "--event-type", "pull_request_opened", "--branch", "feature/x", "--ci-dir", repo, "--workspace", ws,
      "--changed-file", "docs/guide.md", "--changed-file", "docs/drafts/wip.md",
    ]);
    expect(r.code).toBe(0);
    // test is path-filtered out, so build no longer waits for it; deploy is push-to-main only.
    expect(triggers(ws).jobs.map((j) => [j.job_name, j.depends_on])).toEqual([
      ["build", []],
      ["docs", []],
    ]);
    expect(r.all).toContain("skip deploy (.reactorcide/workflows/ci.yaml): event pull_request_opened not in [push]");
  });

  test("an event no rule matches triggers nothing; --dry-run writes nothing", async () => {
    const repo = repository();
    const ws = tempDir();
    const closed = await evalCli(["--event-type", "pull_request_closed", "--branch", "main", "--ci-dir", repo, "--workspace", ws, "--changed-file", "README.md"]);
    expect(closed.code).toBe(0);
    expect(closed.all).toContain("no job matches this event");
    const dry = await evalCli(["--event-type", "push", "--branch", "main", "--ci-dir", repo, "--workspace", ws, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.all).toContain("test (.reactorcide/workflows/ci.yaml)");
    expect(existsSync(join(ws, "triggers.json"))).toBe(false);
  });

  test("bad input: unknown event, bad PR number", async () => {
    const repo = repository();
    const bad = await evalCli(["--event-type", "merge", "--ci-dir", repo]);
    expect(bad.code).toBe(2);
    expect(bad.all).toContain("--event-type: must be one of push, pull_request_opened");
    const pr = await evalCli(["--event-type", "push", "--ci-dir", repo, "--pr-number", "1;rm"]);
    expect(pr.code).toBe(2);
    expect(pr.all).toContain("--pr-number: must be a positive whole number");
  });

  test("a job_file that is absolute, uses .. or escapes through a link is refused; nothing is triggered", async () => {
    const outside = tempDir();
    write(outside, { "steal.yaml": "command: env\n" });
    for (const jobFile of [join(outside, "steal.yaml"), "../steal.yaml", "jobs/link.yaml"]) {
      const repo = tempDir();
      write(repo, { ".reactorcide/workflows/x.yaml": `jobs:\n  j: { job_file: "${jobFile}" }\n` });
      mkdirSync(join(repo, "jobs"));
      symlinkSync(join(outside, "steal.yaml"), join(repo, "jobs", "link.yaml"));
      const ws = tempDir();
      const r = await evalCli(["--event-type", "push", "--branch", "main", "--ci-dir", repo, "--workspace", ws, "--changed-file", "a"]);
      expect(r.code).toBe(2);
      expect(r.all).toContain("jobs.j.job_file:");
      expect(r.all).toMatch(/absolute|must not use "\.\."|through a link; refused/);
      expect(existsSync(join(ws, "triggers.json"))).toBe(false);
    }
  });
});
