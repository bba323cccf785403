import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli } from "../testing/cli.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";

const tempDir = useTempDirs("rc-trigger-cli");

/** Through the compiled runner, with only the environment given. */
const trigger = (args: string[], env: Record<string, string> = {}) => runCli(["trigger", ...args], { env });

describe("trigger command", () => {
  test("files with one job, a list, or {jobs}; YAML or JSON; all appended to triggers.json", async () => {
    const ws = tempDir();
    writeFileSync(join(ws, "one.yaml"), "job_name: deploy\nenv:\n  TARGET: staging\n");
    writeFileSync(join(ws, "list.json"), JSON.stringify([{ job_name: "a" }, { job_name: "b", condition: "always" }]));
    writeFileSync(join(ws, "wrapped.yaml"), "jobs:\n  - job_name: c\n    depends_on: [a]\n");
    const r = await trigger([join(ws, "one.yaml"), join(ws, "list.json"), join(ws, "wrapped.yaml")], { REACTORCIDE_WORKSPACE: ws });
    expect(r.code).toBe(0);
    const file = JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8"));
    expect(file.jobs.map((j: { job_name: string }) => j.job_name)).toEqual(["deploy", "a", "b", "c"]);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("::reactorcide::trigger::"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!.slice("::reactorcide::trigger::".length)).operation_id).toBe(file.operation_id);
  });

  test("a bad job exits 2 naming the field, and nothing is written", async () => {
    const ws = tempDir();
    writeFileSync(join(ws, "bad.yaml"), "job_name: x\ncondition: on_success\nretries: 3\n");
    const r = await trigger([join(ws, "bad.yaml"), "--workspace", ws]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('jobs[0].condition: must be one of "all_success", "any_failed", "always"');
    expect(r.stdout + r.stderr).toContain("jobs[0].retries: unknown field");
    expect(existsSync(join(ws, "triggers.json"))).toBe(false);
  });

  test("POSTs to the coordinator only over https unless allowed", async () => {
    const ws = tempDir();
    writeFileSync(join(ws, "t.yaml"), "job_name: x\n");
    let posted = 0;
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (posted++, new Response(null, { status: 201 })) });
    try {
      const env = { REACTORCIDE_COORDINATOR_URL: `http://127.0.0.1:${server.port}`, REACTORCIDE_API_TOKEN: "t0k", REACTORCIDE_JOB_ID: "j1" };
      const refused = await trigger([join(ws, "t.yaml"), "--workspace", ws], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr + refused.stdout).toContain("http:// refused");
      const ok = await trigger([join(ws, "t.yaml"), "--workspace", ws, "--allow-insecure-transport"], env);
      expect(ok.code).toBe(0);
      expect(posted).toBe(1);
      expect(existsSync(join(ws, "triggers.json"))).toBe(false);
    } finally {
      server.stop(true);
    }
  });
});

describe("a job file as a trigger job", () => {
  test("name/command/image/source/env of a job file are taken as job_name/job_command/container_image/source_*/env", async () => {
    const ws = tempDir();
    writeFileSync(
      join(ws, "deploy.yaml"),
      "name: deploy\ncommand: make deploy\nimage: alpine:3.20\nenv: { RETRIES: 3, DRY: false }\nsource: { type: git, url: https://example.com/app.git, ref: main }\ntimeout: 60\n",
    );
    const r = await trigger([join(ws, "deploy.yaml")], { REACTORCIDE_WORKSPACE: ws });
    expect(r.code).toBe(0);
    const file = JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8"));
    expect(file.jobs[0]).toMatchObject({
      job_name: "deploy",
      job_command: "make deploy",
      container_image: "alpine:3.20",
      env: { RETRIES: "3", DRY: "false" },
      source_type: "git",
      source_url: "https://example.com/app.git",
      source_ref: "main",
      timeout: 60,
    });
  });

  test("a job file's field a trigger cannot carry (resources) or an unknown one is refused naming it, nothing written", async () => {
    const ws = tempDir();
    writeFileSync(join(ws, "big.yaml"), "name: big\ncommand: make\nresources: { memory: 1g }\n");
    const r = await trigger([join(ws, "big.yaml")], { REACTORCIDE_WORKSPACE: ws });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("jobs[0].resources");
    writeFileSync(join(ws, "typo.yaml"), "name: typo\ncommand: make\ncolour: red\n");
    const t = await trigger([join(ws, "typo.yaml")], { REACTORCIDE_WORKSPACE: ws });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("jobs[0].colour");
    expect(existsSync(join(ws, "triggers.json"))).toBe(false);
  });
});

describe("the runner's own tools inside a job run in place", () => {
  test("trigger, register-secret and the job's name and id work in `run --job-command` without a container", async () => {
    const ws = tempDir();
    const runner = await ensureRunnerBinary();
    writeFileSync(join(ws, "next.yaml"), "name: next\ncommand: echo next\n");
    const command = [
      `${runner} trigger ${join(ws, "next.yaml")}`,
      `echo "value-to-hide-123" | ${runner} register-secret -`,
      'echo "name=$REACTORCIDE_JOB_NAME id=$REACTORCIDE_JOB_ID ws=$REACTORCIDE_WORKSPACE"',
      'echo "leak value-to-hide-123"',
    ].join(" && ");
    const r = await runCli(["run", "--workspace", ws, "--name", "inplace", "--job-command", command], { env: { REACTORCIDE_JOB_ID: "job-42" } });
    expect(r.stderr).not.toContain("does not exist");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`name=inplace id=job-42 ws=${ws}`);
    expect(r.stdout).toContain("leak ***");
    expect(r.stdout).not.toContain("leak value-to-hide-123\n");
    const file = JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8"));
    expect(file.jobs.map((j: { job_name: string }) => j.job_name)).toEqual(["next"]);
  });
});
