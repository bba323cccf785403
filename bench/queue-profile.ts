#!/usr/bin/env bun
/**
 * Where a Corndogs claim+complete spends its CPU: 8 consumers drain QUEUE_PROFILE_TASKS tasks
 * (inserted by SQL beforehand, so no submit is measured) through a Corndogs server in its own
 * process, and the CPU of each side is printed per task. Run it and the server under
 * `bun --cpu-prof` to see the split inside each side:
 *   QUEUE_PROFILE_DIR=/tmp/x bun --cpu-prof --cpu-prof-dir=/tmp/x bench/queue-profile.ts unary|stream
 * (the server child gets the same profiler flags when QUEUE_PROFILE_DIR is set).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { CorndogsClient } from "../daemon/corndogs/client.ts";
import { startEmbeddedPostgres } from "../daemon/db/embedded.ts";
import { processTreeCpuMs } from "./lib/cpu.ts";

const mode = process.argv[2] ?? "unary";
const TASKS = Number(process.env.QUEUE_PROFILE_TASKS ?? 6000);
const CONSUMERS = 8;
const profileDir = process.env.QUEUE_PROFILE_DIR;

const dir = mkdtempSync(join(tmpdir(), "queue-profile-"));
const cluster = await startEmbeddedPostgres({ dir });
try {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  await admin.unsafe("CREATE DATABASE corndogs");
  await admin.end();
  const url = cluster.urlFor("corndogs");
  const profiler = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-name=server.cpuprofile"] : [];
  const child = Bun.spawn([process.execPath, ...profiler, join(import.meta.dir, "lib/corndogs-server.ts"), url, "10"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
  const address = text.trim();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const insert = (n: number) => sql`
    INSERT INTO corndogs_tasks (uuid, queue, current_state, auto_target_state, submit_time, update_time, timeout, payload, priority)
    SELECT gen_random_uuid(), 'bench', 'submitted', 'submitted-working', g, g, 0, convert_to('{"job_id":' || g || '}', 'UTF8'), 0
    FROM generate_series(1, ${n}) g`;
  const clients = Array.from({ length: CONSUMERS }, () => new CorndogsClient(address));
  const postgresPid = Number(readFileSync(join(dir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);

  const drain = async (count: number) => {
    let budget = count;
    let done = 0;
    await Promise.all(
      clients.map(async (client) => {
        if (mode === "stream") {
          const stream = client.openTaskStream({ queue: "bench", overrideTimeout: 300 });
          let task = budget-- > 0 ? await stream.next() : undefined;
          while (task) {
            const more = budget-- > 0;
            const [, next] = await Promise.all([stream.complete(task), more ? stream.next() : undefined]);
            done++;
            task = next;
          }
          await stream.close();
          return;
        }
        while (budget-- > 0) {
          const task = await client.getNextTask({ queue: "bench", overrideTimeout: 300 });
          if (!task) throw new Error("queue empty too early");
          await client.completeTask({ uuid: task.uuid, currentState: task.currentState });
          done++;
        }
      }),
    );
    if (done !== count) throw new Error(`drained ${done} of ${count}`);
  };

  await insert(1000);
  await drain(1000);
  await insert(TASKS);
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  // Backends report their counts to the statistics system about once a second.
  const commits = async () => {
    await Bun.sleep(1500);
    const [row] = await sql<{ n: string }[]>`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`;
    return Number(row!.n);
  };
  const commitsBefore = await commits();
  const before = { client: own(), server: processTreeCpuMs(child.pid), postgres: processTreeCpuMs(postgresPid), at: performance.now() };
  await drain(TASKS);
  const after = { client: own(), server: processTreeCpuMs(child.pid), postgres: processTreeCpuMs(postgresPid), at: performance.now() };
  const commitsPerTask = ((await commits()) - commitsBefore) / TASKS;
  const per = (k: "client" | "server" | "postgres") => ((after[k] - before[k]) / TASKS).toFixed(3);
  console.log(
    JSON.stringify({
      mode,
      tasks: TASKS,
      per_s: Math.round((TASKS / (after.at - before.at)) * 1000),
      cpu_ms_per_task: { consumers: per("client"), server: per("server"), postgres: per("postgres") },
      commits_per_task: commitsPerTask.toFixed(2),
      load: readFileSync("/proc/loadavg", "utf8").split(" ")[0],
    }),
  );
  for (const c of clients) c.close();
  await sql.end();
  child.stdin.end();
  await child.exited;
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
