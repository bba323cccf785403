/**
 * Workflows end to end: the real API, the embedded Corndogs server and workers reaching both over
 * the network. Run-time triggers come from jobs run by the compiled runner (process runtime, where
 * a job reaches the coordinator on loopback with its job token); the example workflow runs in
 * runner containers (docker runtime), its source served by `git daemon` on the Docker bridge as a
 * forge would serve it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { startTestSystem, type TestSystem } from "../worker/testing/system.ts";
import { runCli } from "../testing/serve-process.ts";
import { containerName } from "../worker/runtimes/docker.ts";

const root = join(import.meta.dir, "..", "..");
type Node = { name: string; status: string; job_id: string | null; reason: string | null; parent_job_id: string | null };
type Run = { id: string; status: string; nodes: Node[] };

async function waitRun(system: TestSystem, id: string, limitMs = 240_000): Promise<Run> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const run = (await system.http("GET", `/api/v1/workflows/${id}`)).json as Run;
    if (["success", "failure", "cancelled"].includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run.status}: ${JSON.stringify(run.nodes)}`);
    await Bun.sleep(100);
  }
}
const statuses = (run: Run) => Object.fromEntries(run.nodes.map((n) => [n.name, n.status]));

describe("run-time triggers on the process runtime", () => {
  let system: TestSystem;
  let runner = "";
  beforeAll(async () => {
    runner = join(mkdtempSync(join(tmpdir(), "rc-wf-runner-")), "reactorcide-runner");
    await copyFile(await ensureRunnerBinary(), runner);
    chmodSync(runner, 0o755);
    system = await startTestSystem({ image: "unused" });
    await system.addWorker({ runtime: "process", runnerPath: runner, concurrency: 2, settings: { workspaceOwner: null } });
  }, 300_000);
  afterAll(() => system?.close());

  test("a trigger by file, by stdout line and by API each runs once; one sent all three ways at once still once", async () => {
    const op = () => crypto.randomUUID();
    const payload = (operation: string, name: string) => JSON.stringify({ type: "trigger_job", operation_id: operation, jobs: [{ job_name: name, job_command: `echo ran ${name}` }] });
    const [f, l, a, all] = [op(), op(), op(), op()];
    const post = (body: string) =>
      `curl -sS -o /dev/null -w 'api %{http_code}\\n' -H "authorization: Bearer $REACTORCIDE_API_TOKEN" -H 'content-type: application/json' ` +
      `-d '${body}' "$REACTORCIDE_COORDINATOR_URL/api/v1/jobs/$REACTORCIDE_JOB_ID/triggers"`;
    // The job runs in <workspace>/src: its triggers file is ../triggers.json. The last request goes
    // every way at once: the file (which holds only one operation, so it is written last), a line and the API.
    const command = [
      `echo '::reactorcide::trigger::${payload(l, "by-line")}'`,
      post(payload(a, "by-api")),
      post(payload(all, "all-three")),
      `echo '::reactorcide::trigger::${payload(all, "all-three")}'`,
      `echo '${payload(all, "all-three")}' > ../triggers.json`,
    ].join("\n");
    const parent = await system.submit({ name: "parent", command });
    const fileOnly = await system.submit({ name: "file-parent", command: `echo '${payload(f, "by-file")}' > ../triggers.json` });
    const done = await system.waitFor(parent.id);
    expect(done.status).toBe("success");
    const log = await system.logText(parent.id);
    expect(log.match(/^api 201$/gm)).toHaveLength(2);
    const run = await waitRun(system, (await system.job(parent.id) as unknown as { workflow_run_id: string }).workflow_run_id);
    expect(statuses(run)).toEqual({ parent: "success", "by-line": "success", "by-api": "success", "all-three": "success" });
    expect(run.nodes.filter((n) => n.parent_job_id === parent.id)).toHaveLength(3);
    expect(await system.logText(run.nodes.find((n) => n.name === "all-three")!.job_id!)).toContain("ran all-three");
    // Each follow-up job exists once.
    const jobs = (await system.http("GET", `/api/v1/jobs?project=${system.projectId}&limit=200`)).json.jobs as { name: string }[];
    for (const name of ["by-line", "by-api", "all-three"]) expect(jobs.filter((j) => j.name === name)).toHaveLength(1);
    expect(log).toContain("triggered by-line (stdout)");

    await system.waitFor(fileOnly.id);
    const fileRun = await waitRun(system, (await system.job(fileOnly.id) as unknown as { workflow_run_id: string }).workflow_run_id);
    expect(statuses(fileRun)).toEqual({ "file-parent": "success", "by-file": "success" });
    expect(await system.logText(fileOnly.id)).toContain("triggered by-file (file)");
  }, 240_000);

  test("the runner's own `trigger` command (file, line and POST together) from a job: once; a refusal lands in the parent's log", async () => {
    const command = [
      `printf 'job_name: child\\njob_command: echo child ran\\n' > /tmp/child-$$.yaml`,
      `"$RUNNER" trigger /tmp/child-$$.yaml --workspace ..`,
      `printf 'job_name: orphan\\njob_command: "true"\\ndepends_on: [nowhere]\\n' > /tmp/orphan-$$.yaml`,
      `"$RUNNER" trigger /tmp/orphan-$$.yaml --workspace .. || echo "trigger command exit $?"`,
    ].join("\n");
    const parent = await system.submit({ name: "cli-parent", command, env: { RUNNER: runner } });
    expect((await system.waitFor(parent.id)).status).toBe("success");
    const runId = (await system.job(parent.id) as unknown as { workflow_run_id: string }).workflow_run_id;
    const run = await waitRun(system, runId);
    expect(statuses(run)).toEqual({ "cli-parent": "success", child: "success" });
    const log = await system.logText(parent.id);
    expect(log).toContain('trigger refused (api): triggered job "orphan": depends_on names unknown job "nowhere"');
    // The token never shows in the log.
    expect(log).not.toMatch(/rcd_[A-Za-z0-9_-]{20,}/);
  }, 240_000);
});

/**
 * The runner image under a tag of this binary's own (reactorcide/runner:wf-<sha>): the shared :dev
 * tag is rebuilt by every checkout's tests, and a job started a moment later could get another's runner.
 */
async function privateRunnerImage(): Promise<string> {
  await ensureRunnerImage();
  const binary = await ensureRunnerBinary();
  const sha = new Bun.CryptoHasher("sha256").update(await Bun.file(binary).arrayBuffer()).digest("hex").slice(0, 16);
  const tag = `reactorcide/runner:wf-${sha}`;
  const proc = Bun.spawn(["flock", join(root, ".image-cache", "build.lock"), process.execPath, join(root, "scripts", "image.ts"), "--binary", binary, "--tag", tag], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`building ${tag}: ${err}`);
  return tag;
}

/** The host's address on Docker's default bridge: its IPAM gateway, else the subnet's first address (docker0). */
function bridgeGateway(): string {
  const config = JSON.parse(Bun.spawnSync(["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"]).stdout.toString()) as { Subnet?: string; Gateway?: string }[];
  const first = config.find((c) => c.Subnet?.includes("."));
  if (first?.Gateway) return first.Gateway;
  const [a, b, c] = first!.Subnet!.split("/")[0]!.split(".");
  return `${a}.${b}.${c}.1`;
}

describe("the example workflow in runner containers", () => {
  let system: TestSystem;
  let gitDaemon: ReturnType<typeof Bun.spawn> | undefined;
  let sourceUrl = "";
  let sha = "";
  beforeAll(async () => {
    const image = await privateRunnerImage();
    system = await startTestSystem({ image });
    await system.addWorker({ runtime: "docker", concurrency: 2 });
    // This repository's HEAD, served read-only over git:// on the bridge a job container reaches.
    const gateway = bridgeGateway();
    const base = mkdtempSync(join(tmpdir(), "rc-wf-git-"));
    chmodSync(base, 0o755);
    expect(Bun.spawnSync(["git", "clone", "--quiet", "--bare", root, join(base, "repo.git")]).exitCode).toBe(0);
    sha = Bun.spawnSync(["git", "-C", root, "rev-parse", "HEAD"]).stdout.toString().trim();
    const port = 20000 + Math.floor(Math.random() * 20000);
    gitDaemon = Bun.spawn(["git", "daemon", "--reuseaddr", "--export-all", `--base-path=${base}`, `--listen=${gateway}`, `--port=${port}`, base], { stdout: "ignore", stderr: "ignore" });
    sourceUrl = `git://${gateway}:${port}/repo.git`;
    for (let i = 0; i < 50 && Bun.spawnSync(["git", "ls-remote", sourceUrl]).exitCode !== 0; i++) await Bun.sleep(100);
  }, 900_000);
  afterAll(async () => {
    gitDaemon?.kill();
    await system?.close();
  });

  test("`reactorcide workflow submit --follow`: the same jobs, order, skips and result as locally, with the summary table", async () => {
    const env = { REACTORCIDE_URL: system.url, REACTORCIDE_TOKEN: system.api.admin, NODE_ENV: "production" };
    const cli = [process.execPath, join(root, "daemon", "main.ts")];
    const main = await runCli([...cli, "workflow", "submit", join(root, "jobs/workflows/ci.yaml"), "--project", system.projectId, "--follow", "--branch", "main", "--sha", sha, "--source-url", sourceUrl], env);
    console.log(main.stdout);
    expect(main.stderr + main.stdout).toContain("[test] [layout] layout ok");
    expect(main.stdout).toContain("[lint] lint ok");
    expect(main.stdout).toMatch(/\[build-linux-x64\] built runner-linux-x64\.tgz \(\d+ bytes\)/);
    expect(main.stdout).toContain(`[deploy] [announce] deploying ${sha} from main`);
    expect(main.stdout).toMatch(/^JOB\s+STATUS\s+DURATION\s+EXIT\s+NOTE/m);
    expect(main.stdout).toMatch(/^build-linux-arm64\s+success\s+\S+\s+0/m);
    expect(main.stdout).toContain("workflow succeeded");
    expect(main.code).toBe(0);

    const runs = (await system.http("GET", `/api/v1/workflows?project=${system.projectId}`)).json.workflows as Run[];
    const run = runs[0]!;
    expect(statuses(run)).toEqual({ test: "success", lint: "success", "build-linux-x64": "success", "build-linux-arm64": "success", deploy: "success" });
    // Order: each build started after test and lint ended, deploy after both builds.
    const job = async (name: string) => (await system.http("GET", `/api/v1/jobs/${run.nodes.find((n) => n.name === name)!.job_id}`)).json as { started_at: string; finished_at: string };
    const [t, l, b1, b2, d] = await Promise.all(["test", "lint", "build-linux-x64", "build-linux-arm64", "deploy"].map(job));
    for (const b of [b1!, b2!]) expect(Date.parse(b.started_at)).toBeGreaterThanOrEqual(Math.max(Date.parse(t!.finished_at), Date.parse(l!.finished_at)));
    expect(Date.parse(d!.started_at)).toBeGreaterThanOrEqual(Math.max(Date.parse(b1!.finished_at), Date.parse(b2!.finished_at)));

    // Off main: deploy skipped with the reason, still a success, as locally.
    const feature = await runCli([...cli, "workflow", "submit", join(root, "jobs/workflows/ci.yaml"), "--project", system.projectId, "--follow", "--branch", "feature/x", "--sha", sha, "--source-url", sourceUrl], env);
    expect(feature.stdout).toContain("[deploy] skipped: if: env.REACTORCIDE_BRANCH == 'main'");
    expect(feature.stdout).toMatch(/^deploy\s+skipped\s+-\s+-\s+if: env\.REACTORCIDE_BRANCH == 'main'/m);
    expect(feature.code).toBe(0);
  }, 600_000);

  test("values a trigger passes on (a project secret, a value the parent registered) stay masked in the child's log and the API; the child gets them whole", async () => {
    const key = "dk-Secret-Value-9137";
    const session = "sess-Registered-4471";
    await system.setSecret("DEPLOY_KEY", key);
    const sha = (v: string) => new Bun.CryptoHasher("sha256").update(v).digest("hex");
    // The child drops the project secret (secrets: []): what masks its values is that a trigger passed them.
    const command = [
      `SESSION=$(printf 'sess-%s-%s' Registered 4471)`,
      `reactorcide-runner register-secret "$SESSION"`,
      `printf 'job_name: child\njob_command: echo "child token=$TOKEN session=$SESSION"; printf %%s "$TOKEN" | sha256sum; printf %%s "$SESSION" | sha256sum\nsecrets: []\nenv:\n  TOKEN: "%s"\n  SESSION: "%s"\n' "$DEPLOY_KEY" "$SESSION" > /tmp/child.yaml`,
      `reactorcide-runner trigger /tmp/child.yaml`,
    ].join("\n");
    const parent = await system.submit({ name: "masked-parent", command, secrets: ["DEPLOY_KEY"] });
    expect((await system.waitFor(parent.id, undefined, 120_000)).status).toBe("success");
    const runId = ((await system.job(parent.id)) as unknown as { workflow_run_id: string }).workflow_run_id;
    const run = await waitRun(system, runId);
    expect(statuses(run)).toEqual({ "masked-parent": "success", child: "success" });
    const childId = run.nodes.find((n) => n.name === "child")!.job_id!;
    const log = await system.logText(childId);
    expect(log).toContain("child token=*** session=***");
    // It had them whole: their digests.
    expect(log).toContain(sha(key));
    expect(log).toContain(sha(session));
    expect(log).not.toContain(key);
    expect(log).not.toContain(session);
    const child = (await system.http("GET", `/api/v1/jobs/${childId}`)).json as { env: Record<string, string>; secret_env: string[]; secrets: string[] };
    expect(child).toMatchObject({ env: { TOKEN: "***", SESSION: "***" }, secrets: [] });
    expect(child.secret_env.sort()).toEqual(["SESSION", "TOKEN"]);
    expect(await system.logText(parent.id)).not.toContain(key);
  }, 300_000);

  test("a failing job fails the run with exit 1; cancel and retry-failed end to end", async () => {
    const env = { REACTORCIDE_URL: system.url, REACTORCIDE_TOKEN: system.api.admin, NODE_ENV: "production" };
    const cli = [process.execPath, join(root, "daemon", "main.ts")];
    const wf = join(mkdtempSync(join(tmpdir(), "rc-wf-file-")), "wf.yaml");
    await Bun.write(wf, `jobs:\n  flaky:\n    command: test -f /job/src/package.json && test "$ATTEMPT_OK" = yes\n  after:\n    needs: [flaky]\n    command: echo after ran\n`);
    const failed = await runCli([...cli, "workflow", "submit", wf, "--project", system.projectId, "--follow", "--sha", sha, "--source-url", sourceUrl], env);
    expect(failed.stdout).toMatch(/^flaky\s+failure\s+\S+\s+1/m);
    expect(failed.stdout).toMatch(/^after\s+skipped/m);
    expect(failed.stdout).toContain("workflow failed");
    expect(failed.code).toBe(1);
    const run = ((await system.http("GET", `/api/v1/workflows?project=${system.projectId}&limit=1`)).json.workflows as Run[])[0]!;
    // retry-failed runs flaky and after again in the same run (still failing: the env did not change).
    const again = await runCli([...cli, "workflow", "retry-failed", run.id, "--json"], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).status).toBe("running");
    const second = await waitRun(system, run.id);
    expect(statuses(second)).toEqual({ flaky: "failure", after: "skipped" });
    expect(second.nodes.find((n) => n.name === "flaky")!.job_id).not.toBe(run.nodes.find((n) => n.name === "flaky")!.job_id);

    // Cancel: a running container is stopped, the waiting node cancelled.
    await Bun.write(wf, `jobs:\n  long:\n    command: echo started; sleep 300\n  later:\n    needs: [long]\n    command: "true"\n`);
    const started = JSON.parse((await runCli([...cli, "workflow", "submit", wf, "--project", system.projectId, "--json", "--sha", sha], env)).stdout) as Run;
    const longJob = started.nodes.find((n) => n.name === "long")!.job_id!;
    await system.waitFor(longJob, ["running"]);
    const cancelled = await runCli([...cli, "workflow", "cancel", started.id, "--json"], env);
    expect(cancelled.code).toBe(0);
    expect(statuses(JSON.parse(cancelled.stdout))).toEqual({ long: "cancelled", later: "cancelled" });
    const deadline = Date.now() + 20_000;
    while (Bun.spawnSync(["docker", "inspect", containerName(longJob)], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await Bun.sleep(200);
    }
    const list = await runCli([...cli, "workflows", "--project", system.projectId], env);
    expect(list.stdout).toContain(`${started.id}  wf.yaml  cancelled`);
  }, 600_000);
});
