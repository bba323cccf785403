import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyFile } from "node:fs/promises";
import postgres from "postgres";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { openDatabase } from "../db/database.ts";
import { untraversableParent } from "../db/embedded.ts";
import { startCorndogsServer } from "../corndogs/server.ts";
import { ensureDaemonBinary } from "../testing/binary.ts";
import { testDatabase } from "../testing/postgres.ts";
import { runCli, startServe, type Served } from "../testing/serve-process.ts";

const source = [process.execPath, join(import.meta.dir, "..", "main.ts")];
const running: Served[] = [];
afterAll(async () => {
  for (const s of running) if (s.proc.exitCode === null) await s.stop();
});

/** A home, config dir and not-yet-existing data dir; the parent is traversable by user postgres. */
function sandbox() {
  const base = mkdtempSync(join(tmpdir(), "rc-serve-"));
  chmodSync(base, 0o711);
  const env = {
    HOME: join(base, "home"),
    XDG_CONFIG_HOME: join(base, "config"),
    XDG_DATA_HOME: join(base, "share"),
    DATABASE_URL: "",
    REACTORCIDE_MASTER_KEY: "",
    REACTORCIDE_URL: "",
    REACTORCIDE_TOKEN: "",
    // A child started by bun test would inherit NODE_ENV=test, which quiets consola.
    NODE_ENV: "production",
  };
  return { base, dataDir: join(base, "data"), env };
}

/** Every serve here picks free ports, its queue's too, so runs never collide. */
async function serve(argv: string[], dataDir: string, env: Record<string, string>, flags: string[] = ["--no-worker"]) {
  const s = await startServe([...argv, "serve", "--data-dir", dataDir, "--port", "0", "--corndogs-listen", "127.0.0.1:0", ...flags], env);
  running.push(s);
  return s;
}

let runnerCopy: Promise<string> | undefined;
/** A private copy of the runner: other suites may rebuild dist/reactorcide-runner meanwhile. */
function runner(): Promise<string> {
  runnerCopy ??= (async () => {
    const path = join(mkdtempSync(join(tmpdir(), "rc-serve-bin-")), "reactorcide-runner");
    await copyFile(await ensureRunnerBinary(), path);
    chmodSync(path, 0o755);
    return path;
  })();
  return runnerCopy;
}
const withWorker = async () => ["--runtime", "process", "--runner-path", await runner(), "--concurrency", "2"];

const api = (s: Served, token: string, method: string, path: string, body?: unknown) =>
  fetch(s.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

type JobBody = { id: string; status: string; reason: string | null };

async function submitJob(s: Served, token: string, project: string, command: string): Promise<JobBody> {
  const r = await api(s, token, "POST", "/api/v1/jobs", { name: "say", project, command, env: { GREETING: "hi from the job" } });
  expect(r.status).toBe(201);
  return (await r.json()) as JobBody;
}

async function finished(s: Served, token: string, id: string): Promise<JobBody> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = (await (await api(s, token, "GET", `/api/v1/jobs/${id}`)).json()) as JobBody;
    if (!["queued", "running"].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}:\n${s.output()}`);
    await Bun.sleep(50);
  }
}

/** The job ends success and its log (live or archived) holds `says`. */
async function succeeded(s: Served, token: string, id: string, says: string) {
  expect(await finished(s, token, id)).toMatchObject({ status: "success" });
  expect(await (await api(s, token, "GET", `/api/v1/jobs/${id}/logs`)).text()).toContain(says);
}

/** A new project (image busybox: the process runtime ignores it) and one job in it. */
async function projectWithJob(s: Served, token: string, project: string, command: string): Promise<JobBody> {
  expect((await api(s, token, "POST", "/api/v1/projects", { name: project, default_image: "busybox" })).status).toBe(201);
  return submitJob(s, token, project, command);
}

describe("reactorcide serve (from source)", () => {
  test("starts on an empty data directory, prints the admin token once, keeps its data across a restart", async () => {
    const { dataDir, env, base } = sandbox();
    const first = await serve(source, dataDir, env);
    expect(first.adminToken).toMatch(/^rcd_/);
    expect(first.output()).toMatch(/^admin token: rcd_\S+$/m);
    expect(first.output()).toContain("generated a master key");
    expect(statSync(join(dataDir, "master.key")).mode & 0o777).toBe(0o600);
    const admin = first.adminToken!;
    expect((await fetch(first.url + "/readyz")).status).toBe(200);
    expect((await api(first, admin, "POST", "/api/v1/projects", { name: "kept", default_image: "busybox" })).status).toBe(201);

    // token create joins the running embedded cluster.
    const made = await runCli([...source, "token", "create", "--name", "ci-bot", "--data-dir", dataDir], env);
    expect(made.code).toBe(0);
    const ciToken = made.stdout.trim();
    expect(ciToken).toMatch(/^rcd_[A-Za-z0-9_-]+$/);
    expect((await api(first, ciToken, "GET", "/api/v1/projects")).status).toBe(200);

    // Client commands through a login.
    const login = await runCli([...source, "login", "--url", first.url, "--token", admin], env);
    expect(login.code).toBe(0);
    expect(statSync(join(env.XDG_CONFIG_HOME, "reactorcide", "config.json")).mode & 0o777).toBe(0o600);
    const secret = await runCli([...source, "secrets", "set", "kept", "DEPLOY_TOKEN"], env, "very-secret-value\n");
    expect(secret.code).toBe(0);
    const keys = await runCli([...source, "secrets", "list", "kept", "--json"], env);
    expect(JSON.parse(keys.stdout).secrets.map((s: { key: string }) => s.key)).toEqual(["DEPLOY_TOKEN"]);
    expect(keys.stdout).not.toContain("very-secret-value");
    const jobFile = join(base, "job.yaml");
    writeFileSync(jobFile, "name: hello\ncommand: echo hello\nproject: kept\nenv:\n  RETRIES: 3\nsecrets: [DEPLOY_TOKEN]\n");
    const submitted = await runCli([...source, "submit", jobFile, "--json"], env);
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job).toMatchObject({ name: "hello", status: "queued", image: "busybox", env: { RETRIES: "3" } });
    const listed = await runCli([...source, "jobs", "--json"], env);
    expect(JSON.parse(listed.stdout).jobs[0].id).toBe(job.id);
    const cancelled = await runCli([...source, "cancel", job.id], env);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout + cancelled.stderr).toContain("cancelled");
    const again = await runCli([...source, "cancel", job.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already cancelled");
    const retried = await runCli([...source, "retry", job.id, "--json"], env);
    expect(JSON.parse(retried.stdout)).toMatchObject({ attempt: 2, retry_of: job.id });
    const bad = join(base, "bad.yaml");
    writeFileSync(bad, "name: hello\ncommand: echo\nproject: kept\ntimeout: never\n");
    const refused = await runCli([...source, "submit", bad], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("timeout");

    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain("SIGTERM: stopping");

    // Not running: token create starts the cluster briefly.
    const offline = await runCli([...source, "token", "create", "--name", "offline", "--admin", "--data-dir", dataDir], env);
    expect(offline.code).toBe(0);
    const offlineToken = offline.stdout.trim();

    const second = await serve(source, dataDir, env);
    expect(second.adminToken).toBeUndefined();
    expect(second.output()).not.toContain("admin token");
    expect(second.output()).not.toContain("generated a master key");
    for (const token of [admin, ciToken, offlineToken]) expect((await api(second, token, "GET", "/api/v1/tokens")).status).toBe(200);
    const kept = await api(second, admin, "GET", `/api/v1/jobs/${job.id}`);
    expect(((await kept.json()) as { status: string }).status).toBe("cancelled");
    expect(await second.stop()).toBe(0);
  });

  test("runs a submitted job to success with its log through its own queue and worker; after restarts the data is kept and a queued job that lost its task still runs", async () => {
    const { dataDir, env } = sandbox();
    const first = await serve(source, dataDir, env, await withWorker());
    expect(first.output()).toMatch(/^corndogs listening on 127\.0\.0\.1:\d+$/m);
    const admin = first.adminToken!;
    const job = await projectWithJob(first, admin, "demo", 'echo "job says: $GREETING"');
    await succeeded(first, admin, job.id, "job says: hi from the job");
    // SIGTERM while a job runs: the worker finishes it before the API and Postgres stop.
    const slow = await submitJob(first, admin, "demo", "sleep 1.5; echo slow job finished");
    while (((await (await api(first, admin, "GET", `/api/v1/jobs/${slow.id}`)).json()) as JobBody).status === "queued") await Bun.sleep(50);
    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain("waiting for 1 running job(s)");

    // Coordinator only: the job waits with its task in the queue; then the task is lost.
    const second = await serve(source, dataDir, env);
    expect(second.output()).toContain("--no-worker");
    const stranded = await submitJob(second, admin, "demo", "echo stranded job ran");
    const database = await openDatabase({ dataDir });
    try {
      expect((await database.sql`DELETE FROM corndogs_tasks RETURNING uuid`).length).toBe(1);
    } finally {
      await database.close();
    }
    expect(await second.stop()).toBe(0);

    const third = await serve(source, dataDir, env, await withWorker());
    expect(third.output()).toContain("re-submitted 1 queued job(s) that had no task");
    await succeeded(third, admin, stranded.id, "stranded job ran");
    // The first start's jobs and their (archived) logs are still there.
    await succeeded(third, admin, job.id, "job says: hi from the job");
    await succeeded(third, admin, slow.id, "slow job finished");
    expect(await third.stop()).toBe(0);
  });

  test("with CORNDOGS_URL it starts no queue of its own and runs jobs through the external one, token and all", async () => {
    const queueDb = await testDatabase("serve_q");
    const external = await startCorndogsServer({ databaseUrl: queueDb.url, listen: "127.0.0.1:0", token: "queue-secret" });
    try {
      const { dataDir, env } = sandbox();
      const appDb = await testDatabase("serve_app");
      const s = await serve(source, dataDir, { ...env, DATABASE_URL: appDb.url, CORNDOGS_URL: external.address, CORNDOGS_TOKEN: "queue-secret" }, await withWorker());
      expect(s.output()).toContain(`corndogs: external at ${external.address}`);
      expect(s.output()).not.toContain("corndogs listening");
      const admin = s.adminToken!;
      const job = await projectWithJob(s, admin, "ext", "echo via the external queue");
      await succeeded(s, admin, job.id, "via the external queue");
      expect(await s.stop()).toBe(0);
      const sql = postgres(queueDb.url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await sql`SELECT count(*)::int AS n FROM corndogs_archived_tasks WHERE convert_from(payload, 'UTF8') LIKE ${`%${job.id}%`}`;
        expect(row!.n).toBe(1);
      } finally {
        await sql.end();
      }
    } finally {
      await external.close();
    }
  });

  test("bad flags are refused with exit 2, naming the flag", async () => {
    const { dataDir, env } = sandbox();
    const r = await runCli([...source, "serve", "--data-dir", dataDir, "--port", "http"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port");
    const cases: [string[], Record<string, string>, string[]][] = [
      [["--corndogs-listen", "nowhere"], {}, ["--corndogs-listen", "host:port"]],
      [["--corndogs-listen", "0.0.0.0:5080"], {}, ["--corndogs-listen", "CORNDOGS_TOKEN"]],
      [["--runtime", "vm"], {}, ["--runtime", "docker, nerdctl, podman, process"]],
      [["--runtime", "process"], {}, ["--runner-path"]],
      [["--concurrency", "0"], {}, ["--concurrency"]],
    ];
    for (const [flags, extra, words] of cases) {
      const bad = await runCli([...source, "serve", "--data-dir", dataDir, "--port", "0", ...flags], { ...env, ...extra });
      expect({ flags, code: bad.code }).toEqual({ flags, code: 2 });
      for (const word of words) expect(bad.stderr).toContain(word);
    }
    const key = await runCli([...source, "serve", "--data-dir", dataDir, "--port", "0"], { ...env, REACTORCIDE_MASTER_KEY: "c2hvcnQ=" });
    expect(key.code).toBe(1);
    expect(key.stderr).toContain("REACTORCIDE_MASTER_KEY");
  });
});

describe("reactorcide serve (compiled binary)", () => {
  test("starts on an empty data directory with its Postgres binaries in dist/pg and embedded migrations, and runs a job", async () => {
    const binary = await ensureDaemonBinary();
    const { dataDir, env } = sandbox();
    const s = await serve([binary], dataDir, env, await withWorker());
    expect(s.adminToken).toMatch(/^rcd_/);
    expect((await fetch(s.url + "/readyz")).status).toBe(200);
    // The queue's .proto and migrations are embedded in the binary too.
    const job = await projectWithJob(s, s.adminToken!, "compiled", "echo compiled serve ran it");
    await succeeded(s, s.adminToken!, job.id, "compiled serve ran it");
    expect(await s.stop()).toBe(0);
    const again = await serve([binary], dataDir, env);
    expect(again.adminToken).toBeUndefined();
    expect((await api(again, s.adminToken!, "GET", "/api/v1/projects/compiled")).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });
});

describe("serve --data-dir the postgres user cannot reach", () => {
  test("untraversableParent names the first parent without o+x (a mktemp -d is 0700)", () => {
    const closed = mkdtempSync(join(tmpdir(), "rc-closed-"));
    expect(statSync(closed).mode & 0o777).toBe(0o700);
    expect(untraversableParent(join(closed, "data", "postgres"))).toEqual({ path: closed, mode: 0o700 });
    chmodSync(closed, 0o711);
    expect(untraversableParent(join(closed, "data", "postgres"))).toBeUndefined();
  });

  test("as root, serve says which directory, which user and what to do, before starting anything", async () => {
    const closed = mkdtempSync(join(tmpdir(), "rc-closed-"));
    const dataDir = join(closed, "data");
    const { env } = sandbox();
    const r = await runCli([...source, "serve", "--data-dir", dataDir, "--no-worker", "--port", "0"], env);
    if (process.getuid?.() !== 0) {
      // Not root: Postgres runs as this user, who owns the directory; nothing to refuse.
      expect(r.stderr).not.toContain("cannot enter");
      return;
    }
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot enter ${closed}`);
    expect(r.stderr).toContain('system user "postgres"');
    expect(r.stderr).toContain(`chmod o+x ${closed}`);
    expect(r.stderr).not.toContain("Permission denied");
    expect(existsSync(join(dataDir, "postgres", "pgdata"))).toBe(false);
  }, 60_000);
});
