/**
 * Review findings: files the runner writes into or reads from a workspace the job controls
 * (steps.json, triggers.json) must not follow links the job planted, nor block on a FIFO.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { spawnCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";
import { appendTriggers, readTriggersFile } from "../triggers/file.ts";

const tempDir = useTempDirs("rc-hostile-links");

describe("steps.json", () => {
  let binary = "";
  let image = "";
  beforeAll(async () => {
    [binary, image] = await Promise.all([ensureRunnerBinary(), ensureRunnerImage()]);
  }, 600_000);

  test("a link the job plants at the runner's temporary name is not written through", async () => {
    const dir = tempDir();
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "precious\n");
    const ws = join(dir, "ws");
    mkdirSync(ws);
    // The job waits for the runner's pid (the test hands it over) and plants a link to a host file.
    writeFileSync(
      join(dir, "job.yaml"),
      `
steps:
  - name: plant
    run: 'while [ ! -s /job/pid ]; do sleep 0.1; done; ln -s ${victim} "/job/steps.json.$(cat /job/pid).tmp" && echo planted'
`,
    );
    const proc = spawnCli(binary, ["run-job", join(dir, "job.yaml"), "--workspace", ws, "--image", image]);
    writeFileSync(join(ws, "pid.tmp"), String(proc.pid));
    Bun.spawnSync(["mv", join(ws, "pid.tmp"), join(ws, "pid")]);
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    expect(stdout).toContain("[plant] planted\n");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(join(ws, "steps.json")).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(join(ws, "steps.json"), "utf8")).success).toBe(true);
  }, 120_000);
});

describe("triggers.json", () => {
  test("a link to a file outside is refused, not read", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "outside.json"), JSON.stringify({ type: "trigger_job", operation_id: crypto.randomUUID(), jobs: [{ job_name: "stolen" }] }));
    const ws = join(dir, "ws");
    mkdirSync(ws);
    symlinkSync(join(dir, "outside.json"), join(ws, "triggers.json"));
    expect(() => readTriggersFile(ws)).toThrow("not a regular file");
  });

  test("a FIFO is refused at once instead of blocking the reader forever", () => {
    const ws = tempDir();
    expect(Bun.spawnSync(["mkfifo", join(ws, "triggers.json")]).exitCode).toBe(0);
    expect(() => readTriggersFile(ws)).toThrow("not a regular file");
  });

  test("appending does not write through a link at the temporary name", async () => {
    const dir = tempDir();
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "precious\n");
    const ws = join(dir, "ws");
    mkdirSync(ws);
    symlinkSync(victim, join(ws, `triggers.json.${process.pid}.tmp`));
    const payload = await appendTriggers(ws, [{ job_name: "next", depends_on: [], condition: "all_success", env: {} }]);
    expect(payload.jobs.map((j) => j.job_name)).toEqual(["next"]);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(readTriggersFile(ws)?.jobs).toHaveLength(1);
    expect(existsSync(join(ws, `triggers.json.${process.pid}.tmp`))).toBe(false);
  });
});
