import { beforeAll, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Masker } from "../../runner/secrets/masker.ts";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { JobRun } from "./job-run.ts";
import { DockerRuntime } from "./runtimes/docker.ts";
import { hostWorkspaces } from "./runtimes/select.ts";
import { defaultSettings } from "./settings.ts";
import { MemoryCoordinator } from "./testing/memory-coordinator.ts";

let image = "";
beforeAll(async () => {
  image = await ensureRunnerImage();
}, 900_000);

async function runInRunnerImage(command: string, secrets: Record<string, string> = {}, env: Record<string, string> = {}) {
  const coordinator = new MemoryCoordinator();
  const settings = defaultSettings({
    workerId: "w-image",
    workspaceRoot: await mkdtemp(join(tmpdir(), "reactorcide-worker-img-")),
    defaultImage: image,
    gracePeriod: 2,
    cancelPollMs: 200,
  });
  const job = coordinator.add({ command, env }, secrets);
  const outcome = await new JobRun(job.id, { coordinator, runtime: new DockerRuntime({ workspaces: hostWorkspaces(settings) }), settings, newMasker: () => new Masker() }).run();
  if (outcome.kind !== "finished") throw new Error(JSON.stringify(outcome));
  return { report: outcome.report, log: coordinator.text(job.id) };
}

test("the runner image runs `reactorcide-runner run` with the job's env and secrets, output masked", async () => {
  const secret = "tok-8f2e77aa51";
  const { report, log } = await runInRunnerImage('echo "deploying with $DEPLOY_TOKEN to $TARGET"; printf %s "$DEPLOY_TOKEN" | base64', { DEPLOY_TOKEN: secret }, { TARGET: "staging" });
  expect(report.status).toBe("success");
  expect(log).toContain("deploying with *** to staging");
  expect(log).not.toContain(secret);
  expect(log).not.toContain(Buffer.from(secret).toString("base64"));
}, 120_000);

test("a job cannot read the host's environment, write outside /job, or gain privileges", async () => {
  process.env.REACTORCIDE_HOST_CANARY = "host-canary-4410";
  const { report, log } = await runInRunnerImage(
    [
      // Markers are split ("A""B") so the runner's echo of this command never contains them.
      'env | grep -c "host-canary-""4410" || echo no-canary',
      "cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n' | grep -c \"host-canary-\"\"4410\" || echo no-canary-pid1",
      'touch /usr/evil 2>/dev/null && echo "WROTE-""USR" || echo usr-refused',
      'touch /evil 2>/dev/null && echo "WROTE-""ROOT" || echo root-refused',
      "echo ok > /job/inside && echo job-ok",
      "echo uid=$(id -u)",
      "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
      'su -c id root </dev/null 2>/dev/null && echo "BECAME-""ROOT" || echo su-refused',
    ].join("; "),
  );
  delete process.env.REACTORCIDE_HOST_CANARY;
  expect(report.status).toBe("success");
  expect(log).not.toContain("host-canary-4410");
  expect(log).toContain("no-canary\n");
  expect(log).toContain("no-canary-pid1");
  expect(log).not.toContain("WROTE-USR");
  expect(log).not.toContain("WROTE-ROOT");
  expect(log).toContain("usr-refused");
  expect(log).toContain("root-refused");
  expect(log).toContain("job-ok");
  expect(log).toContain("uid=1001");
  expect(log).toMatch(/CapEff:\s+0000000000000000/);
  expect(log).toMatch(/NoNewPrivs:\s+1/);
  expect(log).toContain("su-refused");
  expect(log).not.toContain("BECAME-ROOT");
}, 120_000);

test("a multi-line command (a YAML block, like jobs/example.yaml's) runs whole in the container", async () => {
  // An env file holds one line per variable, so such a command reaches the runner as --job-command.
  const { report, log } = await runInRunnerImage('set -eu\necho "first line: $WHO"\necho "second ""line"\n', {}, { WHO: "block" });
  expect(report).toMatchObject({ status: "success" });
  expect(log).toContain("first line: block");
  expect(log).toContain("second line");
}, 120_000);
