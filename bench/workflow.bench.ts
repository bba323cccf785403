/**
 * The workflow engine's cost, on one daemon (the real API, embedded Corndogs, Postgres) and one
 * process-runtime worker of 16 slots running the compiled runner, in one run:
 * - a 1 → 50 → 1 fan-out/fan-in workflow of trivial jobs (`true`), submit → run ended;
 * - the same 52 jobs submitted at once as independent jobs (the comparison the issue asks for);
 * - the workflow's own floor: what its three stages cost as plain jobs (1 job, then 50 at once,
 *   then 1), so that what remains is the engine: advancing on each job's end (job event bus →
 *   one transaction under the run's lock), creating nodes' jobs, and the run's bookkeeping.
 * Rounds alternate (independent, staged, workflow) so load from other processes falls on each alike.
 * Where the overhead goes is read back from the database: job end → next nodes ready (the
 * advance), node ready → job started (queue and worker, as for any job).
 */
import { consola } from "consola";
import { chmod, copyFile, mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../runner/testing/binary.ts";
import { stopTestCluster } from "../daemon/testing/postgres.ts";
import { startTestSystem } from "../daemon/worker/testing/system.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const ROUNDS = 3;
const FAN = 50;
const SLOTS = 16;

const loadBefore = loadavg();
const binDir = await mkdtemp(join(tmpdir(), "reactorcide-bench-bin-"));
// A private copy: other processes may rebuild dist/reactorcide-runner while the bench runs.
const runnerPath = join(binDir, "reactorcide-runner");
await copyFile(await ensureRunnerBinary(), runnerPath);
await chmod(runnerPath, 0o755);
const system = await startTestSystem({ image: "unused" });
const worker = await system.addWorker({ runtime: "process", runnerPath, concurrency: SLOTS, settings: { workspaceOwner: null } });

const round1 = (n: number) => Math.round(n * 10) / 10;
const median = (xs: number[]) => round1(percentile(xs, 50));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Submits `n` trivial jobs at once and waits for all of them. */
async function independent(n: number): Promise<string[]> {
  const jobs = await Promise.all(Array.from({ length: n }, (_, i) => system.submit({ name: `solo-${i}`, command: "true" })));
  for (const job of jobs) {
    const done = await system.waitFor(job.id, undefined, 300_000);
    if (done.status !== "success") throw new Error(`job ended ${done.status}: ${done.reason}`);
  }
  return jobs.map((j) => j.id);
}

const workflow = {
  name: "fan",
  jobs: {
    first: { command: "true" },
    fan: { for_each: Array.from({ length: FAN }, (_, i) => String(i)), item_var: "N", needs: ["first"], command: "true" },
    last: { needs: ["fan"], command: "true" },
  },
};

type RunView = { id: string; status: string; nodes: { name: string; job_id: string | null; status: string }[] };
async function workflowRun(): Promise<RunView> {
  const r = await system.http("POST", "/api/v1/workflows", { project: system.projectId, workflow });
  if (r.status !== 201) throw new Error(`workflow submit: ${r.status} ${r.text}`);
  for (;;) {
    const run = (await system.http("GET", `/api/v1/workflows/${r.json.id}`)).json as RunView;
    if (run.status !== "running") {
      if (run.status !== "success") throw new Error(`workflow ended ${run.status}`);
      if (run.nodes.length !== FAN + 2) throw new Error(`workflow has ${run.nodes.length} nodes, not ${FAN + 2}`);
      return run;
    }
    await Bun.sleep(25);
  }
}

/** Where a run's time went, from the rows: each stage's end → the next stage's nodes ready, and ready → started. */
async function breakdown(runId: string) {
  const raw = await system.api.sql<{ name: string; ready_at: string; created_at: string; started_at: string; finished_at: string }[]>`
    SELECT n.name, n.ready_at, j.created_at, j.started_at, j.finished_at
    FROM workflow_nodes n JOIN jobs j ON j.id = n.job_id WHERE n.run_id = ${runId}`;
  const rows = raw.map((r) => ({ name: r.name, ready_at: new Date(r.ready_at), created_at: new Date(r.created_at), started_at: new Date(r.started_at), finished_at: new Date(r.finished_at) }));
  const first = rows.find((r) => r.name === "first")!;
  const last = rows.find((r) => r.name === "last")!;
  const fan = rows.filter((r) => r !== first && r !== last);
  const ms = (a: Date, b: Date) => b.getTime() - a.getTime();
  const lastFanEnd = new Date(Math.max(...fan.map((r) => r.finished_at.getTime())));
  return {
    // The advance: a job's end recorded → the nodes after it have jobs (queued).
    advance_first_to_fan_ms: ms(first.finished_at, new Date(Math.max(...fan.map((r) => r.ready_at.getTime())))),
    advance_fan_to_last_ms: ms(lastFanEnd, last.ready_at),
    // Queue and worker, as for any job: ready → started.
    node_wait_p50_ms: percentile(rows.map((r) => ms(r.ready_at, r.started_at)), 50),
  };
}

async function pickupOf(ids: string[]) {
  const rows = await system.api.sql<{ created_at: string; started_at: string }[]>`SELECT created_at, started_at FROM jobs WHERE id IN ${system.api.sql(ids)}`;
  return percentile(rows.map((r) => Date.parse(r.started_at) - Date.parse(r.created_at)), 50);
}

// Warm-up: the first jobs pay for cold caches (runner binary, Postgres plans).
await independent(SLOTS);
await workflowRun();

const independentMs: number[] = [];
const stagedMs: number[] = [];
const workflowMs: number[] = [];
const parts: Awaited<ReturnType<typeof breakdown>>[] = [];
const independentPickup: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  consola.start(`round ${round + 1}/${ROUNDS}: ${FAN + 2} independent jobs at once`);
  let ids: string[] = [];
  independentMs.push(await timed(async () => (ids = await independent(FAN + 2))));
  independentPickup.push(await pickupOf(ids));
  consola.start(`round ${round + 1}/${ROUNDS}: the stages as plain jobs (1, then ${FAN} at once, then 1)`);
  stagedMs.push(await timed(async () => {
    await independent(1);
    await independent(FAN);
    await independent(1);
  }));
  consola.start(`round ${round + 1}/${ROUNDS}: the 1 → ${FAN} → 1 workflow`);
  let run: RunView | undefined;
  workflowMs.push(await timed(async () => (run = await workflowRun())));
  parts.push(await breakdown(run!.id));
}

await worker.stop();
await system.close();
await stopTestCluster();
await rm(binDir, { recursive: true, force: true });

const wf = median(workflowMs);
const solo = median(independentMs);
const staged = median(stagedMs);
const results = {
  workflow_1_50_1_ms: { p50: wf, runs: workflowMs.map(round1) },
  independent_52_jobs_ms: { p50: solo, runs: independentMs.map(round1) },
  ratio_workflow_to_independent: Math.round((wf / solo) * 100) / 100,
  floor_staged_plain_jobs_ms: { p50: staged, runs: stagedMs.map(round1), note: "1 job, then 50 at once, then 1, each stage submitted when the last ended" },
  engine_overhead_ms: round1(wf - staged),
  engine_overhead_per_node_ms: round1((wf - staged) / (FAN + 2)),
  overhead_made_of_p50: {
    advance_first_end_to_50_nodes_ready_ms: median(parts.map((p) => p.advance_first_to_fan_ms)),
    advance_last_fan_end_to_last_ready_ms: median(parts.map((p) => p.advance_fan_to_last_ms)),
    workflow_node_ready_to_started_ms: median(parts.map((p) => p.node_wait_p50_ms)),
    independent_job_created_to_started_ms: median(independentPickup),
  },
  slots: SLOTS,
  load_average: { before: loadBefore.map((l) => Math.round(l * 100) / 100), after: loadavg().map((l) => Math.round(l * 100) / 100) },
};
const file = writeBenchResult({
  name: "workflow",
  results,
  notes:
    `One daemon (HTTP API, embedded Corndogs, Postgres) and one process-runtime worker of ${SLOTS} slots with the compiled runner; every job is \`true\`. ` +
    `Median of ${ROUNDS} alternating rounds after a warm-up. The ratio compares the workflow with the same 52 jobs submitted at once, which need not wait for one another; ` +
    "the engine's overhead is the workflow's time over its staged floor (its three stages as plain jobs, each submitted when the one before ended, by this client polling every 25 ms). " +
    "overhead_made_of: the advance (a job's end recorded → the next nodes' jobs queued: the job event bus hands the end to the engine, which decides and inserts under the run's lock) and the queue's pickup, for workflow nodes and for independent jobs.",
});
consola.success(`${file}\n${JSON.stringify(results, null, 2)}`);
process.exit(0);
