import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli, spawnCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { CONTAINER_USER, containerEnvFileText, containerRunArgs } from "./command.ts";

const dir = mkdtempSync(join(tmpdir(), "reactorcide-container-"));
let image = "";
let binary = "";
beforeAll(async () => {
  [image, binary] = await Promise.all([ensureRunnerImage(), ensureRunnerBinary()]);
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const freshWorkspace = () => join(dir, `ws-${++counter}`);

function containersNamed(prefix: string): string[] {
  const ps = Bun.spawnSync(["docker", "ps", "-a", "--filter", `name=${prefix}`, "--format", "{{.Names}}"]);
  return ps.stdout.toString().split("\n").filter(Boolean);
}

describe("container command", () => {
  const spec = {
    runtime: "docker" as const, image: "img", command: "make test", name: "reactorcide-x-1", workspace: "/w",
    workdir: "/job/src", envFile: "/w/.reactorcide/job.env", cpu: 1.5, memory: "512m", pids: 256,
  };

  test("is hardened: non-root user, no capabilities, no-new-privileges, limits, only /job mounted", () => {
    const argv = containerRunArgs(spec);
    const joined = argv.join(" ");
    expect(argv.slice(0, 3)).toEqual(["docker", "run", "--rm"]);
    for (const part of ["--user 1001:1001", "--cap-drop ALL", "--security-opt no-new-privileges", "--pids-limit 256", "--memory 512m", "--cpus 1.5", "--mount type=bind,source=/w,target=/job", "--workdir /job/src", "--env-file /w/.reactorcide/job.env"]) {
      expect(joined).toContain(part);
    }
    expect(argv.slice(-4)).toEqual(["img", "/bin/sh", "-c", "make test"]);
    expect(argv).not.toContain("-e");
    expect(argv).not.toContain("--env");
    expect(argv).not.toContain("--privileged");
    expect(argv.filter((a) => a === "--mount" || a === "-v" || a === "--volume")).toEqual(["--mount"]);
    expect(CONTAINER_USER).toBe("1001:1001");
  });

  test("worker options: kept for inspection, an argv instead of a shell, no network, read-only root", () => {
    const argv = containerRunArgs({ ...spec, command: undefined, argv: ["reactorcide-runner", "run"], keep: true, network: "none", readOnlyRoot: { tmpfsSize: "64m" } });
    expect(argv.slice(0, 3)).toEqual(["docker", "run", "--name"]);
    expect(argv.slice(-3)).toEqual(["img", "reactorcide-runner", "run"]);
    const joined = argv.join(" ");
    expect(joined).toContain("--network none");
    expect(joined).toContain("--read-only --tmpfs /tmp:rw,nosuid,nodev,size=64m");
    expect(joined).toContain("--cap-drop ALL");
    expect(containerRunArgs(spec).join(" ")).not.toContain("--network");
    expect(() => containerRunArgs({ ...spec, command: undefined })).toThrow("command");
  });

  test("refuses root and unmountable workspaces", () => {
    expect(() => containerRunArgs({ ...spec, user: "0:0" })).toThrow("root");
    expect(() => containerRunArgs({ ...spec, user: "root" })).toThrow("root");
    expect(() => containerRunArgs({ ...spec, workspace: "/w,readonly=false,source=/etc" })).toThrow("comma");
  });

  test("env file text holds one variable per line and refuses values that would add lines", () => {
    expect(containerEnvFileText({ A: "1", B: "two words=x" })).toBe("A=1\nB=two words=x\n");
    expect(() => containerEnvFileText({ A: "1\nINJECTED=1" })).toThrow("env.A");
    expect(() => containerEnvFileText({ "A B": "1" })).toThrow("env.A B");
  });
});

describe("running in the runner image", () => {
  test("hardening holds inside the container; env arrives through the env file; the workspace is /job", async () => {
    const ws = freshWorkspace();
    const r = await runCli([
      "run", "--workspace", ws, "--image", image, "--job-env", "GREETING=hi-from-env-file", "--secret-env-names", "",
      "--job-command", "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; echo $GREETING; pwd; echo made > /job/src/out.txt; grep -rls hi-from-env-file /job 2>/dev/null | sed 's/^/ENV-FILE-IN-JOB: /' || true",
    ]);
    expect(r.stderr).not.toContain("ERROR");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const uid = lines.find((l) => /^\d+$/.test(l));
    expect(uid).toBeDefined();
    expect(uid).not.toBe("0");
    expect(r.stdout).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(r.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(r.stdout).toContain("hi-from-env-file\n/job/src\n");
    expect(r.stdout).not.toMatch(/^ENV-FILE-IN-JOB: /m);
    expect(readFileSync(join(ws, "src", "out.txt"), "utf8")).toBe("made\n");
    // The env file is gone once the job ended, and the workspace is the caller's again.
    expect(existsSync(join(ws, ".reactorcide"))).toBe(false);
    expect(statSync(join(ws, "src", "out.txt")).uid).toBe(process.getuid!());
  });

  test("the job's exit code becomes the runner's; stderr stays stderr", async () => {
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--image", image, "--job-command", "echo oops >&2; exit 9"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toContain("oops");
    expect(r.stdout).not.toMatch(/^oops$/m);
  });

  test("a job file with a git source runs in the image against the checkout", async () => {
    const repo = join(dir, "repo");
    mkdirSync(repo, { recursive: true });
    writeFileSync(join(repo, "VERSION"), "1.2.3\n");
    for (const args of [["init", "-q", "-b", "main"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "v"]]) {
      expect(Bun.spawnSync(["git", ...args], { cwd: repo }).exitCode).toBe(0);
    }
    const job = join(dir, "job.yaml");
    writeFileSync(job, `name: in-image\nimage: ${image}\nsource:\n  type: git\n  url: ${repo}\n  ref: main\nresources:\n  cpu: 1\n  memory: 256m\n  pids: 64\ncommand: cat VERSION && git log -1 --format=%s\n`);
    const r = await runCli(["run-job", job, "--workspace", freshWorkspace()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1.2.3\nv\n");
  });

  test("--timeout stops the container and exits 124; no container is left", async () => {
    const r = await runCli(["run", "--workspace", freshWorkspace(), "--image", image, "--name", "timeout-check", "--timeout", "2", "--grace-period", "1", "--job-command", "sleep 300"]);
    expect(r.code).toBe(124);
    expect(r.stderr).toContain("timed out after 2 s");
    for (let i = 0; i < 50 && containersNamed("reactorcide-timeout-check").length; i++) await Bun.sleep(100);
    expect(containersNamed("reactorcide-timeout-check")).toEqual([]);
  });

  test("SIGTERM to the runner stops the container: exit 143, no container left", async () => {
    const ws = freshWorkspace();
    mkdirSync(join(ws, "src"), { recursive: true });
    const proc = spawnCli(binary, ["run", "--workspace", ws, "--image", image, "--name", "sigterm-check", "--grace-period", "2", "--job-command", "echo started > /job/src/started; sleep 300"]);
    for (let i = 0; i < 300 && !existsSync(join(ws, "src", "started")); i++) await Bun.sleep(50);
    expect(existsSync(join(ws, "src", "started"))).toBe(true);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    for (let i = 0; i < 50 && containersNamed("reactorcide-sigterm-check").length; i++) await Bun.sleep(100);
    expect(containersNamed("reactorcide-sigterm-check")).toEqual([]);
  });

  test("a missing image is a clear error before anything runs", async () => {
    const ws = freshWorkspace();
    const r = await runCli(["run", "--workspace", ws, "--image", "reactorcide/runner:not-built", "--job-command", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('image "reactorcide/runner:not-built" is not present');
    expect(r.stderr).toContain("npm run image");
    expect(existsSync(ws)).toBe(false);
  });

  test("the image runs as the runner user in /job and carries the runner and git", () => {
    const out = Bun.spawnSync(["docker", "run", "--rm", image, "sh", "-c", "id -un; pwd; reactorcide-runner --version; git --version"]);
    const [user, cwd, version, git] = out.stdout.toString().trim().split("\n");
    expect([user, cwd]).toEqual(["runner", "/job"]);
    expect(version).toMatch(/^\d+\.\d+\.\d+ \(/);
    expect(git).toStartWith("git version");
  });
});
