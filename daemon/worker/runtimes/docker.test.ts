import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBusyboxImage } from "../testing/busybox-image.ts";
import { collect, testSpec, testWorkspaces } from "../testing/collect.ts";
import { DockerEngine } from "./docker-engine.ts";
import { DockerRuntime, containerName, hardenedCreateRequest, hardenedRunArgv } from "./docker.ts";
import { InfrastructureError, type RunSpec } from "./runtime.ts";

let image = "";
// Kept, so a test can look at what the job wrote; job.env goes all the same.
const workspaces = testWorkspaces({ keep: true });
const runtime = new DockerRuntime({ cli: "docker", workspaces });

beforeAll(async () => {
  image = await ensureBusyboxImage();
}, 300_000);

async function spec(script: string, overrides: Partial<RunSpec> = {}): Promise<RunSpec> {
  return testSpec({ image, argv: ["sh", "-c", script], ...overrides });
}

function containerExists(jobId: string): boolean {
  return Bun.spawnSync(["docker", "inspect", containerName(jobId)], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

describe("docker runtime: hardening seen from inside the job", () => {
  test("runs as a non-root user with no capabilities and no-new-privileges", async () => {
    const s = await spec("id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status");
    const { stdout, exit } = await collect(await runtime.start(s));
    expect(exit.code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe("1001");
    expect(stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(stdout).toMatch(/CapBnd:\s+0000000000000000/);
    expect(stdout).toMatch(/NoNewPrivs:\s+1/);
  });

  test("sees only the env it was given, never the worker's environment", async () => {
    process.env.REACTORCIDE_HOST_CANARY = "host-only-value-7731";
    const s = await spec("env", { env: { JOB_VALUE: "from the job=yes" } });
    const { stdout } = await collect(await runtime.start(s));
    expect(stdout).toContain("JOB_VALUE=from the job=yes");
    expect(stdout).not.toContain("host-only-value-7731");
    delete process.env.REACTORCIDE_HOST_CANARY;
  });

  test("cannot write outside /job, cannot gain root, and only /job is mounted from the host", async () => {
    const s = await spec(
      "touch /etc/evil 2>/dev/null && echo WROTE-ETC; touch /evil 2>/dev/null && echo WROTE-ROOT; " +
        "echo hi > /job/ok.txt && echo WROTE-JOB; " +
        "chown 0 /job/ok.txt 2>/dev/null && echo CHOWNED; " +
        "grep -c ' /job ' /proc/self/mountinfo",
    );
    const { stdout } = await collect(await runtime.start(s));
    expect(stdout).not.toContain("WROTE-ETC");
    expect(stdout).not.toContain("WROTE-ROOT");
    expect(stdout).not.toContain("CHOWNED");
    expect(stdout).toContain("WROTE-JOB");
    expect(readFileSync(join(workspaces.dir(s.jobId), "ok.txt"), "utf8")).toBe("hi\n");
  });

  test("a read-only root still has a writable /tmp", async () => {
    const s = await spec("touch /home-x 2>/dev/null && echo ROOT-WRITABLE; echo t > /tmp/t && echo TMP-OK", { readOnlyRoot: true });
    const { stdout } = await collect(await runtime.start(s));
    expect(stdout).not.toContain("ROOT-WRITABLE");
    expect(stdout).toContain("TMP-OK");
  });

  test("network none leaves only the loopback interface", async () => {
    const s = await spec("ls /sys/class/net", { network: "none" });
    const { stdout } = await collect(await runtime.start(s));
    expect(stdout.trim().split(/\s+/)).toEqual(["lo"]);
  });
});

describe("docker runtime: output over the engine's attach stream", () => {
  test("stdout and stderr arrive complete, each in order, and apart", async () => {
    const s = await spec("i=1; while [ $i -le 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; printf tail-no-newline");
    const { stdout, stderr, exit } = await collect(await runtime.start(s));
    expect(exit.code).toBe(0);
    const numbers = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
    expect(stdout).toBe(`${numbers(3000, "out").join("\n")}\ntail-no-newline`);
    expect(stderr).toBe(`${numbers(3000, "err").join("\n")}\n`);
  }, 60_000);

  test("8 MB of output in large writes arrives byte for byte", async () => {
    // base64 of random bytes: the job's own hash of what it wrote goes to stderr.
    const s = await spec("head -c 6000000 /dev/urandom | base64 > /tmp/out; cat /tmp/out; sha256sum /tmp/out >&2");
    const { stdout, stderr, exit } = await collect(await runtime.start(s));
    expect(exit.code).toBe(0);
    expect(stdout.length).toBeGreaterThan(8_000_000);
    expect(stderr.split(" ")[0]).toBe(createHash("sha256").update(stdout).digest("hex"));
  }, 60_000);
});

describe("docker runtime: limits", () => {
  test("a job over its memory limit is OOM-killed and reported as such", async () => {
    const s = await spec("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", {
      limits: { memoryBytes: 32 * 2 ** 20, cpus: 1, pids: 64 },
    });
    const { stdout, exit } = await collect(await runtime.start(s));
    expect(stdout).not.toContain("survived");
    expect(exit.code).toBe(137);
    expect(exit.oomKilled).toBe(true);
  }, 60_000);

  test("a fork bomb is stopped by the pids limit", async () => {
    // Spawns sleeps until fork fails; without the limit it would reach 2000 and print "unbounded".
    const s = await spec("n=0; while [ $n -lt 2000 ]; do sleep 30 & n=$((n+1)); echo spawned=$n; done; echo unbounded", {
      limits: { memoryBytes: 256 * 2 ** 20, cpus: 1, pids: 32 },
    });
    const { stdout, stderr, exit } = await collect(await runtime.start(s));
    const counts = [...stdout.matchAll(/spawned=(\d+)/g)].map((m) => Number(m[1]));
    expect(stdout).not.toContain("unbounded");
    expect(Math.max(...counts)).toBeLessThan(32);
    expect(stderr).toMatch(/fork/i);
    expect(exit.code).not.toBe(0);
  }, 60_000);
});

describe("docker runtime: lifecycle", () => {
  test("stop asks politely, then kills after the grace period, and the container is removed", async () => {
    const s = await spec("trap '' TERM; echo started; while true; do sleep 1; done");
    const job = await runtime.start(s);
    const reader = job.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("started");
    reader.releaseLock();
    await job.stop(1);
    const exit = await job.exited;
    expect(exit.code).toBe(137);
    await job.removed;
    expect(containerExists(s.jobId)).toBe(false);
  }, 60_000);

  test("a job that honours SIGTERM ends with 143", async () => {
    const s = await spec("trap 'echo got-term; exit 143' TERM; echo started; while true; do sleep 1; done");
    const job = await runtime.start(s);
    const out = collect(job);
    await Bun.sleep(1000);
    await job.stop(10);
    const { stdout, exit } = await out;
    expect(stdout).toContain("got-term");
    expect(exit.code).toBe(143);
  }, 60_000);

  test("start replaces a leftover container of the same job (a crashed worker's)", async () => {
    const s = await spec("echo second");
    Bun.spawnSync(["docker", "run", "-d", "--name", containerName(s.jobId), image, "sleep", "60"]);
    expect(containerExists(s.jobId)).toBe(true);
    const { stdout, exit } = await collect(await runtime.start(s));
    expect(stdout).toBe("second\n");
    expect(exit.code).toBe(0);
  }, 60_000);

  test("the end is known before the clean-up: exited has the exit and what the job left, removed settles when the container and env files are gone", async () => {
    const s = await spec("echo '{\"triggers\":[]}' > /job/triggers.json; exit 4");
    const job = await runtime.start(s);
    const { exit } = await collect(job);
    expect(exit.code).toBe(4);
    expect(exit.triggers).toBeDefined();
    await job.removed;
    expect(containerExists(s.jobId)).toBe(false);
    // Kept workspaces (this file's) lose their env files all the same.
    expect(() => readFileSync(join(workspaces.dir(s.jobId), "job.env"))).toThrow();
    expect(() => readFileSync(workspaces.runnerEnvFile(s.jobId))).toThrow();
  }, 60_000);

  test("a missing image is an infrastructure error naming the image", async () => {
    const s = await spec("true", { image: "reactorcide/does-not-exist:never" });
    const error = await runtime.preflight(s).catch((e) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error.message).toContain("reactorcide/does-not-exist:never");
  });

  test("the engine socket not answering: the CLI runs the job, each stream apart, reads the exit and the OOM kill and removes the container instead", async () => {
    const viaCli = new DockerRuntime({ cli: "docker", workspaces, engine: new DockerEngine("/nonexistent/docker.sock") });
    const s = await spec("echo to-out; echo to-err >&2; exit 3");
    await viaCli.preflight(s);
    const job = await viaCli.start(s);
    const { stdout, stderr, exit } = await collect(job);
    expect([stdout, stderr]).toEqual(["to-out\n", "to-err\n"]);
    expect(exit).toMatchObject({ code: 3, oomKilled: false });
    await job.removed;
    expect(containerExists(s.jobId)).toBe(false);
    const oom = await spec("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", { limits: { memoryBytes: 32 * 2 ** 20, cpus: 1, pids: 64 } });
    const killedJob = await viaCli.start(oom);
    const { exit: killed } = await collect(killedJob);
    expect(killed.oomKilled).toBe(true);
    await killedJob.removed;
    expect(containerExists(oom.jobId)).toBe(false);
  }, 60_000);

  test("a runtime CLI that is not installed (podman: absent from this machine and CI) is an infrastructure error", async () => {
    const missing = new DockerRuntime({ cli: "podman", workspaces });
    const s = await spec("true");
    const error = await missing.preflight(s).catch((e) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error.message).toContain("podman");
  });
});

describe("docker runtime: argv and env file", () => {
  test("secrets never reach the command line; no privileged, no host network, one mount", async () => {
    const s = testSpec({ image: "img", argv: ["reactorcide-runner", "run"], env: { TOKEN: "s3cr3t-value" } });
    const argv = hardenedRunArgv("docker", s, "/w", "/private/job.env");
    const line = argv.join(" ");
    expect(line).not.toContain("s3cr3t-value");
    expect(argv).not.toContain("-e");
    expect(argv).not.toContain("--privileged");
    expect(line).not.toContain("host");
    expect(argv.filter((a) => a === "--volume" || a === "-v" || a === "--mount")).toHaveLength(1);
    expect(argv).not.toContain("--rm"); // kept until its exit (OOMKilled) has been read
    expect(argv).toContain("--cap-drop");
    expect(() => hardenedRunArgv("docker", s, "/w", "/e", { user: "0:0" })).toThrow(/root/);
  });

  test("the engine's create request and the CLI's argv make the same container (docker inspect)", async () => {
    const s = testSpec({
      image, argv: ["reactorcide-runner", "run"], env: { REACTORCIDE_A: "1", REACTORCIDE_B: "two words=x" },
      readOnlyRoot: true, network: "none", limits: { memoryBytes: 300 * 2 ** 20, cpus: 1.5, pids: 77 },
    });
    const workspace = workspaces.dir(s.jobId);
    mkdirSync(workspace, { recursive: true });
    const envFile = workspaces.runnerEnvFile(s.jobId);
    writeFileSync(envFile, "REACTORCIDE_A=1\nREACTORCIDE_B=two words=x\n");
    const argv = hardenedRunArgv("docker", s, workspace, envFile);
    const request = hardenedCreateRequest(s, workspace, { REACTORCIDE_A: "1", REACTORCIDE_B: "two words=x" });
    const viaCli = containerName(s.jobId);
    request.name = `${viaCli}-engine`;
    try {
      // `docker create` takes run's options: the same argv, created but not started.
      const created = Bun.spawnSync(["docker", "create", ...argv.slice(2)], { stderr: "pipe" });
      expect(created.stderr.toString()).toBe("");
      await new DockerEngine("/var/run/docker.sock").create(request);
      const inspect = (name: string) => JSON.parse(Bun.spawnSync(["docker", "inspect", name]).stdout.toString())[0];
      const [cli, engine] = [inspect(viaCli), inspect(request.name)];
      // The hardening is there (so the comparison below is not of two empty containers) ...
      expect(engine.HostConfig).toMatchObject({
        CapDrop: ["ALL"], CapAdd: null, SecurityOpt: ["no-new-privileges"], Privileged: false, ReadonlyRootfs: true, Init: true,
        Tmpfs: { "/tmp": "rw,nosuid,nodev,size=256m" }, PidsLimit: 77, Memory: 300 * 2 ** 20, MemorySwap: 300 * 2 ** 20, NanoCpus: 1.5e9,
        NetworkMode: "none", Mounts: [{ Type: "bind", Source: workspace, Target: "/job" }], Binds: null,
      });
      expect(engine.Config).toMatchObject({ User: "1001:1001", WorkingDir: "/job", Cmd: ["reactorcide-runner", "run"] });
      expect(engine.Config.Env).toEqual(expect.arrayContaining(["REACTORCIDE_A=1", "REACTORCIDE_B=two words=x"]));
      // ... and every HostConfig and Config field is the same either way (an empty list or map
      // is how the CLI sends "none", null the API's), but the random hostname.
      const plain = (value: unknown) => (value && typeof value === "object" && Object.keys(value).length === 0 ? null : value);
      const fields = (c: { HostConfig: Record<string, unknown>; Config: Record<string, unknown> }) => ({
        HostConfig: Object.fromEntries(Object.entries(c.HostConfig).map(([k, v]) => [k, plain(v)])),
        Config: Object.fromEntries(Object.entries(c.Config).filter(([k]) => k !== "Hostname").map(([k, v]) => [k, plain(v)])),
      });
      expect(fields(engine)).toEqual(fields(cli));
    } finally {
      Bun.spawnSync(["docker", "rm", "--force", viaCli, request.name], { stdout: "ignore", stderr: "ignore" });
    }
  });
});
