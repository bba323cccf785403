/**
 * `workflow run` and the examples in jobs/, through the compiled runner: the example workflow in
 * place, a workflow whose jobs each run in their own runner container, run-time triggers, --job.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import type { WorkflowReport } from "../workflow/schedule.ts";

const repoRoot = join(import.meta.dir, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "reactorcide-workflow-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await ensureRunnerBinary();
}, 120_000);

const statuses = (report: WorkflowReport) => Object.fromEntries(report.jobs.map((j) => [j.name, j.status]));

describe("the examples in jobs/", () => {
  test("npm run workflow-example: test and lint in parallel, the build matrix, deploy on main; live output prefixed by job", async () => {
    const r = await runCli(["workflow", "run", "jobs/workflows/ci.yaml", "--no-container", "--branch", "main"], { cwd: repoRoot });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[test] [layout] layout ok");
    expect(r.stdout).toContain("[lint] lint ok");
    // The for_each values are plain workflow text: shown, not masked.
    expect(r.stdout).toMatch(/\[build-linux-x64\] built runner-linux-x64\.tgz \(\d+ bytes\)/);
    expect(r.stdout).toContain("[deploy] [announce] deploying ");
    expect(r.stdout).toMatch(/^build-linux-arm64\s+success\s+\S+\s+0/m);
    expect(r.stdout).toContain("workflow succeeded");
  });

  test("off main the deploy job is skipped; --json gives the report", async () => {
    const r = await runCli(["workflow", "run", "jobs/workflows/ci.yaml", "--no-container", "--branch", "feature/x", "--json"], { cwd: repoRoot });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as WorkflowReport;
    expect(statuses(report)).toEqual({ test: "success", lint: "success", "build-linux-x64": "success", "build-linux-arm64": "success", deploy: "skipped" });
    expect(report.jobs.find((j) => j.name === "deploy")?.reason).toContain("REACTORCIDE_BRANCH");
  });

  test("npm run example: the example job runs against this repository with live output", async () => {
    const ws = join(dir, "example-ws");
    const r = await runCli(["run-job", "jobs/example.yaml", "--workspace", ws, "--secret-env-names", ""], { cwd: repoRoot });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("greeting: hello from jobs/example.yaml\n");
    expect(r.stdout).toContain("check:   package.json names reactorcide");
  });

  test("jobs/scripts/ci.ts does the same imperatively as a job script", async () => {
    const r = await runCli(["script", "jobs/scripts/ci.ts"], { cwd: repoRoot, env: { REACTORCIDE_WORKSPACE: join(dir, "script-ws"), REACTORCIDE_BRANCH: "feature/x" } });
    expect(r.stdout + r.stderr).toContain("layout ok");
    expect(r.stdout + r.stderr).toContain("built linux-arm64");
    expect(r.code).toBe(0);
  });
});

describe("workflow run", () => {
  /** A small repository with a workflow; returns its directory. */
  function project(workflow: string): string {
    const root = mkdtempSync(join(dir, "project-"));
    mkdirSync(join(root, "wf"));
    writeFileSync(join(root, "wf", "ci.yaml"), workflow);
    writeFileSync(join(root, "data.txt"), "from the project\n");
    return root;
  }

  test("in place: a job that prints a trigger line gets that job run in the same workflow", async () => {
    const root = project(`
jobs:
  first:
    command: |
      cat data.txt
      echo '::reactorcide::trigger::{"type":"trigger_job","operation_id":"0b7e6a4e-3c1d-4f7a-9a51-2f0c1d2e3f40","jobs":[{"job_name":"late","job_command":"echo late ran"}]}'
`);
    const r = await runCli(["workflow", "run", "wf/ci.yaml", "--no-container", "--source", "copy", "--json"], { cwd: root });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as WorkflowReport;
    expect(statuses(report)).toMatchObject({ first: "success", late: "success" });
    expect(report.jobs.find((j) => j.name === "late")?.triggeredBy).toBe("first");
    expect(r.stderr).toContain("[first] from the project");
    expect(r.stderr).toContain("[late] late ran");
    // The runner's echo of the command holds the same text, but only a line that starts with it counts.
    expect(r.stderr).not.toContain("invalid trigger line");
  });

  test("--job runs one job alone and prints what would run next; bad flags exit 2 naming the flag", async () => {
    const root = project(`
jobs:
  a: { command: "echo a ran" }
  b: { needs: [a], command: "echo b ran" }
`);
    const r = await runCli(["workflow", "run", "wf/ci.yaml", "--no-container", "--source", "none", "--job", "a"], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[a] a ran");
    expect(r.stdout).not.toContain("b ran");
    expect(r.stdout).toContain("→ b");
    expect(r.stdout).toContain("workflow run wf/ci.yaml --job b");
    const bad = await runCli(["workflow", "run", "wf/ci.yaml", "--max-parallel", "0"], { cwd: root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--max-parallel");
    const event = await runCli(["workflow", "run", "wf/ci.yaml", "--event", "deploy"], { cwd: root });
    expect(event.code).toBe(2);
    expect(event.stderr).toContain("--event: must be one of push");
  });

  test("each job in its own runner container and workspace; a job triggers another with reactorcide-runner trigger", async () => {
    const image = await ensureRunnerImage();
    const root = project(`
jobs:
  build:
    command: |
      test -f /.dockerenv && echo "in a container as uid $(id -u)"
      cat data.txt > /job/built.txt
      printf 'job_name: notify\\njob_command: echo notified by $FROM; test \"$FROM\" = build && echo FROM-arrived\\nenv: { FROM: build }\\n' > /tmp/next.yaml
      reactorcide-runner trigger /tmp/next.yaml
  check:
    needs: [build]
    command: test ! -e /job/built.txt && echo "own workspace"
`);
    const workdir = join(mkdtempSync(join(dir, "work-")), "jobs");
    const r = await runCli(["workflow", "run", "wf/ci.yaml", "--source", "copy", "--image", image, "--workdir", workdir, "--json"], { cwd: root });
    expect(r.stderr).toMatch(/\[build\] in a container as uid [1-9]/);
    expect(r.stderr).toContain("[check] own workspace");
    // Values a trigger passes on are masked in the follow-up job (they may be secrets), yet arrive intact.
    expect(r.stderr).toContain("[notify] notified by ***");
    expect(r.stderr).toContain("[notify] FROM-arrived");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as WorkflowReport;
    expect(statuses(report)).toEqual({ build: "success", check: "success", notify: "success" });
    expect(readFileSync(join(workdir, "build", "built.txt"), "utf8")).toBe("from the project\n");
  }, 600_000);
});
