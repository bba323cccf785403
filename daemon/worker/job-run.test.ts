import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Masker } from "../../runner/secrets/masker.ts";
import { JobRun, type JobRunOutcome } from "./job-run.ts";
import { DockerRuntime, containerName } from "./runtimes/docker.ts";
import { ProcessRuntime } from "./runtimes/process.ts";
import type { Runtime } from "./runtimes/runtime.ts";
import { hostWorkspaces } from "./runtimes/select.ts";
import { defaultSettings, type WorkerSettings } from "./settings.ts";
import { ensureBusyboxImage } from "./testing/busybox-image.ts";
import { MemoryCoordinator } from "./testing/memory-coordinator.ts";

let image = "";
beforeAll(async () => {
  image = await ensureBusyboxImage();
}, 300_000);

async function setup(overrides: Partial<WorkerSettings> = {}, makeRuntime: (settings: WorkerSettings) => Runtime = (settings) => new DockerRuntime({ workspaces: hostWorkspaces(settings) })) {
  const coordinator = new MemoryCoordinator();
  const settings = defaultSettings({
    workerId: "w-test",
    workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-")),
    defaultImage: image,
    gracePeriod: 1,
    cancelPollMs: 100,
    retryBaseMs: 50,
    limits: { memoryBytes: 128 * 2 ** 20, cpus: 1, pids: 128 },
    ...overrides,
  });
  const runtime = makeRuntime(settings);
  const run = (jobId: string): Promise<JobRunOutcome> => new JobRun(jobId, { coordinator, runtime, settings, newMasker: () => new Masker() }).run();
  return { coordinator, settings, run };
}

function finished(outcome: JobRunOutcome) {
  if (outcome.kind !== "finished") throw new Error(`expected a finished job, got ${JSON.stringify(outcome)}`);
  return outcome.report;
}

describe("job lifecycle in containers", () => {
  test("success: env reaches the command, logs are shipped, workspace removed", async () => {
    const { coordinator, settings, run } = await setup();
    const job = coordinator.add({ command: "echo hello $GREETING; echo to-stderr >&2", env: { GREETING: "world wide" } });
    const report = finished(await run(job.id));
    expect(report).toEqual({ status: "success", exitCode: 0, reason: "the job's command exited 0" });
    expect(coordinator.jobs.get(job.id)!.status).toBe("success");
    const lines = coordinator.logs.get(job.id)!;
    expect(lines.filter((l) => l.stream === "stdout").map((l) => l.line)).toEqual(["hello world wide"]);
    expect(lines.filter((l) => l.stream === "stderr").map((l) => l.line)).toEqual(["to-stderr"]);
    expect(existsSync(join(settings.workspaceRoot, job.id))).toBe(false);
  });

  test("a secret printed plainly and encoded comes out masked", async () => {
    const { coordinator, run } = await setup();
    const secret = "pa55-w0rd-Zq9";
    const job = coordinator.add(
      { command: 'echo "plain: $API_TOKEN"; printf %s "$API_TOKEN" | base64; echo "json: \\"$API_TOKEN\\""' },
      { API_TOKEN: secret },
    );
    const report = finished(await run(job.id));
    expect(report.status).toBe("success");
    const text = coordinator.text(job.id);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString("base64"));
    expect(text).toContain("plain: ***");
    expect(text.split("\n")).toContain("***");
  });

  test("--keep-workspace keeps the job's directory", async () => {
    const { coordinator, settings, run } = await setup({ keepWorkspace: true });
    const job = coordinator.add({ command: "echo kept > /job/artifact.txt" });
    finished(await run(job.id));
    expect(await Bun.file(join(settings.workspaceRoot, job.id, "artifact.txt")).text()).toBe("kept\n");
    // The job's variables and secrets do not outlive it, kept workspace or not.
    expect(existsSync(join(settings.workspaceRoot, job.id, "job.env"))).toBe(false);
  });

  test("a failing command is failure with its exit code", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "exit 7" });
    expect(finished(await run(job.id))).toEqual({ status: "failure", exitCode: 7, reason: "the job's command exited 7" });
  });

  test("timeout: stopped, killed after the grace period, status timed_out with the reason", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "trap '' TERM; echo begin; while true; do sleep 1; done", timeout: 1 });
    const report = finished(await run(job.id));
    expect(report.status).toBe("timed_out");
    expect(report.reason).toBe("timed out after 1 s");
    expect(report.exitCode).toBe(137);
    expect(coordinator.text(job.id)).toContain("begin");
    expect(coordinator.text(job.id)).toContain("timed out after 1 s; stopping (grace period 1 s)");
  }, 30_000);

  test("cancel through the coordinator stops the running container within the grace period", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "echo running; while true; do sleep 1; done" });
    const outcome = run(job.id);
    while (!coordinator.text(job.id).includes("running")) await Bun.sleep(50);
    coordinator.cancel(job.id);
    const result = await outcome;
    expect(result.kind).toBe("finished");
    expect(coordinator.jobs.get(job.id)!.status).toBe("cancelled");
    expect(finished(result).status).toBe("cancelled");
    // Recorded once: the cancel itself; the worker's report found the job already terminal.
    expect((result as { recorded: boolean }).recorded).toBe(false);
    expect(Bun.spawnSync(["docker", "inspect", containerName(job.id)]).exitCode).not.toBe(0);
  }, 30_000);

  test("a job over its memory limit fails with a reason naming the memory limit", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "x=$(head -c 300000000 /dev/zero | tr '\\0' a)", resources: { memory: "32m" } });
    const report = finished(await run(job.id));
    expect(report.status).toBe("failure");
    expect(report.exitCode).toBe(137);
    expect(report.reason).toContain("memory limit (32 MiB)");
  }, 30_000);

  test("a missing image is error with a clear reason, retried `retries` times with backoff", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "true", image: "reactorcide/not-built:never", retries: 2 });
    const report = finished(await run(job.id));
    expect(report.status).toBe("error");
    expect(report.reason).toContain('image "reactorcide/not-built:never" is not present');
    expect(report.reason).toContain("after 3 attempts");
    expect(coordinator.text(job.id)).toContain("retrying in 0.1 s (2 of 2)");
  });

  test("a job whose worker vanished (task came back while running) ends error, once, and its container is removed", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "true" });
    coordinator.jobs.get(job.id)!.status = "running";
    Bun.spawnSync(["docker", "run", "-d", "--name", containerName(job.id), image, "sleep", "60"]);
    const report = finished(await run(job.id));
    expect(report.status).toBe("error");
    expect(report.reason).toContain("stopped responding");
    expect(coordinator.finishes.filter((f) => f.jobId === job.id)).toHaveLength(1);
    expect(Bun.spawnSync(["docker", "inspect", containerName(job.id)]).exitCode).not.toBe(0);
    expect(await run(job.id)).toEqual({ kind: "skipped", reason: "job is already error" });
  }, 30_000);

  test("an image that the container CLI would read as an option is refused, never run", async () => {
    const { coordinator, run } = await setup();
    // `docker run … --help reactorcide-runner run` printed the help and exited 0: a success with nothing run.
    const job = coordinator.add({ command: "true", image: "--help", retries: 2 });
    const report = finished(await run(job.id));
    expect(report.status).toBe("error");
    expect(report.reason).toStartWith('image: "--help" is not an image reference');
    expect(coordinator.text(job.id)).not.toContain("Usage:");
  });

  test("a command with Windows line endings runs (a CR cannot go through the env file either)", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "echo crlf-ok\r" });
    expect(finished(await run(job.id)).status).toBe("success");
    expect(coordinator.text(job.id)).toContain("crlf-ok");
  });

  test("a job asking for more than the worker allows (a pids limit a fork bomb would not hit) is refused, naming the field", async () => {
    const { coordinator, run } = await setup({ maxLimits: { memoryBytes: 2 ** 30, cpus: 1, pids: 4096 } });
    for (const [resources, field] of [[{ pids: 1_000_000 }, "resources.pids"], [{ memory: "64g" }, "resources.memory"], [{ cpu: 64 }, "resources.cpu"]] as const) {
      const job = coordinator.add({ command: "echo ran", resources });
      const report = finished(await run(job.id));
      expect(report.status).toBe("error");
      expect(report.reason).toStartWith(`${field}: `);
      expect(coordinator.text(job.id)).not.toContain("ran");
    }
  });

  test("an image outside the worker's allowed patterns is refused naming it; the default image and a match run", async () => {
    const { coordinator, run } = await setup({ allowedImages: ["reactorcide/*"] });
    const other = coordinator.add({ command: "echo ran", image: "evil.example/miner:latest" });
    const report = finished(await run(other.id));
    expect(report.status).toBe("error");
    expect(report.reason).toBe(`image: evil.example/miner:latest is not an image this worker runs (allowed: ${image}, reactorcide/*)`);
    expect(coordinator.text(other.id)).not.toContain("ran");
    const plain = coordinator.add({ command: "echo default ran" });
    expect(finished(await run(plain.id)).status).toBe("success");
    const { workerConfig } = await import("./options.ts");
    expect(workerConfig({}, { REACTORCIDE_WORKER_ALLOWED_IMAGES: " reactorcide/*, busybox:* " }, "/tmp/x").settings.allowedImages).toEqual(["reactorcide/*", "busybox:*"]);
    expect(new Bun.Glob("reactorcide/*").match("reactorcide/runner:dev")).toBe(true);
  });

  test("a value with a NUL byte is refused before anything starts, naming the variable", async () => {
    const { coordinator, run } = await setup();
    const job = coordinator.add({ command: "true" }, { NULLY: "a\0b" });
    const report = finished(await run(job.id));
    expect(report.status).toBe("error");
    expect(report.reason).toContain("env.NULLY");
  });
});

test("process runtime refuses an untrusted job with status error and the reason", async () => {
  const { coordinator, run } = await setup({}, (settings) => new ProcessRuntime({ runnerPath: "/bin/true", quiet: true, workspaces: hostWorkspaces(settings) }));
  const job = coordinator.add({ command: "true", untrusted: true, retries: 3 });
  const report = finished(await run(job.id));
  expect(report.status).toBe("error");
  expect(report.reason).toContain("refuses jobs that run untrusted source");
});

describe("values reach the job exactly as submitted, through the real runner", () => {
  // runner/main.ts run by bun through the process runtime, so nothing is compiled.
  async function realRunner(): Promise<string> {
    const path = join(await mkdtemp(join(tmpdir(), "reactorcide-real-runner-")), "reactorcide-runner");
    await writeFile(path, `#!/bin/sh\nexec ${process.execPath} ${join(import.meta.dir, "..", "..", "runner", "main.ts")} "$@"\n`);
    await chmod(path, 0o755);
    return path;
  }

  async function setupReal() {
    const runnerPath = await realRunner();
    return setup({}, (settings) => new ProcessRuntime({ runnerPath, quiet: true, workspaces: hostWorkspaces(settings) }));
  }

  test("env and secret values keep enclosing quotes and leading or trailing blanks", async () => {
    const { coordinator, run } = await setupReal();
    const env = { SINGLE: "'quoted'", DOUBLE: '"dq"', BLANKS: "  two each side  ", HASH: "#not-a-comment", EQ: "a=b=c", EMPTY: "" };
    const job = coordinator.add(
      {
        command: 'for v in "$SINGLE" "$DOUBLE" "$BLANKS" "$HASH" "$EQ" "$EMPTY"; do printf "[%s]\\n" "$v"; done; [ "$TOKEN" = \'"tok-3x4mpl3"  \' ] && echo token-exact',
        env,
      },
      { TOKEN: '"tok-3x4mpl3"  ' },
    );
    const report = finished(await run(job.id));
    const stdout = coordinator.logs.get(job.id)!.filter((l) => l.stream === "stdout").map((l) => l.line);
    for (const value of Object.values(env)) expect(stdout).toContain(`[${value}]`);
    expect(stdout).toContain("token-exact");
    expect(report.status).toBe("success");
  }, 60_000);

  test("a multi-line secret (a PEM key, with backslashes and quotes) reaches the job exactly and is masked whole and per line", async () => {
    const { coordinator, run } = await setupReal();
    const pem = '-----BEGIN TEST KEY-----\nMIIBpem\\line"one==\r\nsecondLINEvalue42\n-----END TEST KEY-----';
    const job = coordinator.add({ command: 'printf %s "$KEY" | sha256sum; echo "$KEY"; echo done' }, { KEY: pem });
    const report = finished(await run(job.id));
    expect(report.status).toBe("success");
    const text = coordinator.text(job.id);
    expect(text).toContain(new Bun.CryptoHasher("sha256").update(pem).digest("hex"));
    expect(text).toContain("done");
    for (const line of ["MIIBpem", "secondLINEvalue42"]) expect(text).not.toContain(line);
  }, 60_000);
});

describe("the job's address of the coordinator", () => {
  test("plain http only to this machine or across a container bridge; https anywhere; anything else: no address", async () => {
    const { insecureTransportAllowed } = await import("./job-run.ts");
    const cases: [string, boolean | null][] = [
      ["https://ci.example.com", false],
      ["http://127.0.0.1:8080", true],
      ["http://localhost:8080", true],
      ["http://[::1]:8080", true],
      ["http://172.17.0.1:8080", true],
      ["http://172.31.255.1", true],
      ["http://10.88.0.1:8080", true],
      ["http://172.32.0.1:8080", null],
      ["http://10.0.0.5:8080", null],
      ["http://192.168.1.5:8080", null],
      ["http://ci.example.com", null],
      ["ftp://127.0.0.1", null],
      ["not a url", null],
    ];
    expect(cases.map(([url]) => [url, insecureTransportAllowed(url)])).toEqual(cases);
  });
});
