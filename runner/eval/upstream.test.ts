import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../testing/cli.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";
import type { TriggerPayload } from "../protocol/trigger.ts";

const tempDir = useTempDirs("rc-eval-upstream");

function write(root: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** A .reactorcide/ of our own in Reactorcide's upstream spelling, using each of its fields. */
const UPSTREAM = {
  ".reactorcide/workflows/ci.yaml": `
name: ci
description: tests and builds
triggers:
  events: [push, pull_request_opened, pull_request_updated]
  branches: [main, "feature/*"]
paths:
  include: ["src/**", "package.json"]
  exclude: ["src/**/*.md"]
jobs:
  - name: test
    job_file: test.yaml
  - name: lint
    job_file: ci/lint.yaml
    environment: { STRICT: "1" }
  - name: build
    depends_on: [test, lint]
    condition: all_success
    job_file: build.yaml
    secrets: [REGISTRY_TOKEN]
  - name: matrix
    needs: [build]
    for_each: [linux, darwin]
    item_var: OS
    job_file: build.yaml
    worker_class: big
    run_local: true
`,
  ".reactorcide/jobs/test.yaml": `
name: test
description: unit tests
environment: { LEVEL: unit }
job:
  image: node:22
  command: npm test
  timeout: 600
  priority: 7
  working_dir: /job/src/app
  code_dir: /job/src
  disable_run_local: true
  image_pull_secrets: [regcred]
  run_as: "1000"
`,
  "ci/lint.yaml": `
job:
  command: npm run lint
`,
  ".reactorcide/jobs/build.yaml": `
job:
  image: docker:27
  command: make build
paths:
  include: ["src/**"]
`,
  ".reactorcide/workflows/release.yaml": `
name: release
triggers:
  events: [tag_created]
  branches: ["v*"]
jobs:
  - name: publish
    job_file: publish.yaml
`,
  ".reactorcide/jobs/publish.yaml": `
job:
  command: make publish
  capabilities: [docker]
secrets: [NPM_TOKEN]
`,
  ".reactorcide/jobs/docs.yaml": `
name: docs
triggers: { events: [push] }
paths: { include: ["docs/**"] }
job: { command: make docs }
`,
};

async function evalIn(repo: string, args: string[]) {
  const ws = tempDir();
  const r = await runCli(["eval", "--ci-dir", repo, "--source-dir", repo, "--workspace", ws, ...args]);
  const path = join(ws, "triggers.json");
  const payload: TriggerPayload | undefined = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
  return { ...r, all: r.stdout + r.stderr, payload, job: (name: string) => payload?.jobs.find((j) => j.job_name === name) };
}

describe("eval: Reactorcide's upstream .reactorcide spelling", () => {
  test("triggers, paths include/exclude, environment, job: blocks, job_file in .reactorcide/jobs then the root, secrets, for_each: one workflow per file", async () => {
    const repo = tempDir();
    write(repo, UPSTREAM);
    const r = await evalIn(repo, ["--event-type", "push", "--branch", "main", "--changed-file", "src/app.ts"]);
    expect(r.code).toBe(0);
    expect(r.payload!.jobs.map((j) => [j.workflow, j.job_name, j.depends_on])).toEqual([
      ["ci", "test", []],
      ["ci", "lint", []],
      ["ci", "build", ["test", "lint"]],
      ["ci", "matrix-linux", ["build"]],
      ["ci", "matrix-darwin", ["build"]],
    ]);
    expect(r.job("test")).toMatchObject({ job_command: "npm test", container_image: "node:22", timeout: 600, priority: 7 });
    expect(r.job("test")!.env).toMatchObject({ LEVEL: "unit", REACTORCIDE_JOB_DIR: "/job/src/app", REACTORCIDE_CODE_DIR: "/job/src", REACTORCIDE_EVENT_TYPE: "push" });
    // From the root when .reactorcide/jobs has no such file; the entry's environment on top.
    expect(r.job("lint")).toMatchObject({ job_command: "npm run lint", env: expect.objectContaining({ STRICT: "1" }) });
    expect(r.job("build")).toMatchObject({ job_command: "make build", container_image: "docker:27", secrets: ["REGISTRY_TOKEN"] });
    expect(r.job("matrix-linux")!.env).toMatchObject({ OS: "linux" });
    // Deployment-only fields are noted and ignored.
    expect(r.all).toContain("worker_class: used only by Reactorcide's own deployment; ignored");
    expect(r.all).toContain("job.run_as: used only by Reactorcide's own deployment; ignored");
    // docs is in no workflow: its own workflow "jobs"; its path rule does not match src/.
    expect(r.job("docs")).toBeUndefined();
  });

  test("paths exclude and a job file's own paths filter; a branch the triggers do not name runs nothing", async () => {
    const repo = tempDir();
    write(repo, UPSTREAM);
    const md = await evalIn(repo, ["--event-type", "push", "--branch", "main", "--changed-file", "src/readme.md"]);
    expect(md.payload?.jobs.filter((j) => j.workflow === "ci") ?? []).toEqual([]);
    expect(md.all).toContain("no changed file matches the path rules");
    const other = await evalIn(repo, ["--event-type", "push", "--branch", "dev", "--changed-file", "src/a.ts"]);
    expect(other.all).toContain("branch dev matches none of [main, feature/*]");
    const pkg = await evalIn(repo, ["--event-type", "pull_request_opened", "--branch", "feature/x", "--changed-file", "package.json"]);
    // build's job file says src/** only.
    expect(pkg.payload!.jobs.map((j) => j.job_name)).toEqual(["test", "lint"]);
    const docs = await evalIn(repo, ["--event-type", "push", "--branch", "dev", "--changed-file", "docs/a.md"]);
    expect(docs.job("docs")).toMatchObject({ workflow: "jobs", job_command: "make docs" });
  });

  test("a tag: release workflows match the tag against branches; a capability this system lacks fails the job with that reason", async () => {
    const repo = tempDir();
    write(repo, UPSTREAM);
    const r = await evalIn(repo, ["--event-type", "tag_created", "--tag", "v1.2.0", "--changed-file", "x"]);
    expect(r.code).toBe(0);
    expect(r.payload!.jobs.map((j) => [j.workflow, j.job_name])).toEqual([["release", "publish"]]);
    const publish = r.job("publish")!;
    expect(publish.secrets).toEqual(["NPM_TOKEN"]);
    expect(publish.job_command).toContain("this system provides no capability docker (job.capabilities)");
    expect(publish.job_command).toContain("exit 1");
    const run = Bun.spawnSync(["sh", "-c", publish.job_command!]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr.toString()).toContain("no capability docker");
    const notRelease = await evalIn(repo, ["--event-type", "tag_created", "--tag", "nightly", "--changed-file", "x"]);
    expect(notRelease.payload).toBeUndefined();
  });

  test("one invalid file does not stop the valid ones: its problems are listed, naming field and file, and eval fails", async () => {
    const repo = tempDir();
    write(repo, {
      ...UPSTREAM,
      ".reactorcide/workflows/broken.yaml": "name: broken\ntriggers: { events: [push] }\njobs:\n  - name: x\n    job_file: test.yaml\n    colour: blue\n",
      ".reactorcide/jobs/bad-block.yaml": "job:\n  command: x\n  privileged: true\n",
    });
    const r = await evalIn(repo, ["--event-type", "push", "--branch", "main", "--changed-file", "src/a.ts"]);
    expect(r.code).toBe(2);
    expect(r.all).toContain("eval problem: .reactorcide/workflows/broken.yaml: jobs[0].colour");
    expect(r.all).toContain("eval problem: .reactorcide/jobs/bad-block.yaml: job.privileged: unknown field");
    expect(r.payload!.jobs.map((j) => j.job_name)).toContain("build");
    expect(r.payload!.jobs.some((j) => j.workflow === "broken")).toBe(false);
  });

  test("the event comes from the eval job's env when no flags are given; a push's changed files are before..after", async () => {
    const repo = tempDir();
    const git = (...args: string[]) => {
      const out = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args], { cwd: repo });
      if (out.exitCode !== 0) throw new Error(out.stderr.toString());
      return out.stdout.toString().trim();
    };
    git("init", "-q", "-b", "main");
    write(repo, UPSTREAM);
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    const before = git("rev-parse", "HEAD");
    write(repo, { "src/one.ts": "1\n" });
    git("add", "-A");
    git("commit", "-q", "-m", "one");
    write(repo, { "README.md": "2\n" });
    git("add", "-A");
    git("commit", "-q", "-m", "two");
    const after = git("rev-parse", "HEAD");
    const ws = tempDir();
    const r = await runCli(["eval", "--ci-dir", repo, "--source-dir", repo, "--workspace", ws], {
      env: { REACTORCIDE_EVENT_TYPE: "push", REACTORCIDE_BRANCH: "main", REACTORCIDE_SHA: after, REACTORCIDE_BEFORE_SHA: before },
    });
    expect(r.code).toBe(0);
    const payload = JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8")) as TriggerPayload;
    // src/one.ts changed in the first of the two pushed commits: the last commit alone would not select ci.
    expect(payload.jobs.map((j) => j.job_name)).toContain("test");
    expect(payload.jobs[0]!.env).toMatchObject({ REACTORCIDE_SHA: after, REACTORCIDE_BRANCH: "main" });
  });
});
