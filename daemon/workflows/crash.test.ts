/**
 * kill -9 of a real `reactorcide serve` (coordinator, embedded Corndogs and a process-runtime
 * worker in one process, on a Postgres that outlives it) mid-workflow, at the moments that
 * matter, each hit exactly by a failpoint (daemon/failpoints.ts): after a job's end before its
 * next nodes exist, while a fan-out's nodes are being created (inside the transaction), after
 * they are committed but before they are handed to the queue, while a fan-in node is being
 * created, and after the last job's end. After each kill serve starts again; the run completes,
 * every node's job exists once and ran once (each job appends its name to a ledger on the host).
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import postgres from "postgres";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { crashableServe, type CrashableServe } from "../testing/crash-serve.ts";

let d: CrashableServe | undefined;
const bin = mkdtempSync(join(tmpdir(), "rc-wf-crash-bin-"));
afterAll(async () => {
  await d?.close();
  rmSync(bin, { recursive: true, force: true });
});

test("serve killed at five moments of a fan-out/fan-in run: after each restart it goes on; the run succeeds with every node run exactly once", async () => {
  const runnerPath = join(bin, "reactorcide-runner");
  await copyFile(await ensureRunnerBinary(), runnerPath);
  chmodSync(runnerPath, 0o755);
  d = await crashableServe("wf_crash", { flags: ["--runtime", "process", "--runner-path", runnerPath, "--concurrency", "1", "--lease-seconds", "2"] });
  // World-writable: the runner may run the job as another user.
  const ledgerDir = join(d.base, "ledger");
  mkdirSync(ledgerDir);
  chmodSync(ledgerDir, 0o777);
  const ledger = join(ledgerDir, "ran");
  const node = (name: string, needs: string[] = []) => [name, { command: `echo ${name} >> ${ledger}`, ...(needs.length ? { needs } : {}) }];
  const workflow = {
    name: "crashy",
    jobs: Object.fromEntries([node("a"), node("b1", ["a"]), node("b2", ["a"]), node("b3", ["a"]), node("c", ["b1", "b2", "b3"]), node("d", ["c"])]),
  };
  const sql = postgres(d.databaseUrl, { max: 1, onnotice: () => {} });
  const jobsOf = async (runId: string) =>
    (await sql<{ name: string; status: string }[]>`SELECT name, status FROM jobs WHERE workflow_run_id = ${runId} ORDER BY name`).map((j) => `${j.name}:${j.status}`);
  try {
    let runId = "";
    // 1. a ends; serve dies before a's end has moved the run on.
    await d.startUntilFailpoint("workflow.job-ended@a", async () => {
      expect((await d!.call("POST", "/api/v1/projects", { name: "crash", default_image: "busybox" })).status).toBe(201);
      const r = await d!.call("POST", "/api/v1/workflows", { project: "crash", workflow });
      expect(r.status).toBe(201);
      runId = r.json.id;
    });
    expect(await jobsOf(runId)).toEqual(["a:success"]);
    // 2. The restart takes a's end up and dies inside the transaction creating b1, b2, b3: none of them is kept.
    await d.startUntilFailpoint("workflow.node-created:2");
    expect(await jobsOf(runId)).toEqual(["a:success"]);
    // 3. They are created and committed; serve dies before they are handed to the queue.
    await d.startUntilFailpoint("workflow.committed");
    expect(await jobsOf(runId)).toEqual(["a:success", "b1:queued", "b2:queued", "b3:queued"]);
    // 4. The restart gives them tasks; they run; serve dies while the fan-in node c is being created.
    await d.startUntilFailpoint("workflow.node-created@c");
    expect(await jobsOf(runId)).toEqual(["a:success", "b1:success", "b2:success", "b3:success"]);
    // 5. c is created and runs; serve dies after its end, before d exists.
    await d.startUntilFailpoint("workflow.job-ended@c");
    expect(await jobsOf(runId)).toEqual(["a:success", "b1:success", "b2:success", "b3:success", "c:success"]);
    // 6. A last, undisturbed start finishes the run.
    await d.start();
    const deadline = Date.now() + 60_000;
    let run: { status: string; nodes: { name: string; status: string; job_id: string }[] };
    for (;;) {
      run = (await d.call("GET", `/api/v1/workflows/${runId}`)).json;
      if (run.status !== "running") break;
      expect(Date.now()).toBeLessThan(deadline);
      await Bun.sleep(100);
    }
    expect(run.status).toBe("success");
    expect(Object.fromEntries(run.nodes.map((n) => [n.name, n.status]))).toEqual({ a: "success", b1: "success", b2: "success", b3: "success", c: "success", d: "success" });
    expect(await jobsOf(runId)).toEqual(["a:success", "b1:success", "b2:success", "b3:success", "c:success", "d:success"]);
    // Ran exactly once each: the ledger has every name once.
    expect(readFileSync(ledger, "utf8").trim().split("\n").sort()).toEqual(["a", "b1", "b2", "b3", "c", "d"]);
  } finally {
    await sql.end();
    rmSync(ledger, { force: true });
  }
}, 300_000);
