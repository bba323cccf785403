import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerBinary } from "../../../runner/testing/binary.ts";
import { ensureDaemonBinary } from "../../testing/binary.ts";
import { callApi, startServe, type Served } from "../../testing/serve-process.ts";

export interface Stack {
  url: string;
  admin: string;
  served: Served;
  /** A directory the stack's jobs can write to (process runtime: they run on this host); removed with the stack. */
  scratch: string;
  /** A JSON request with a bearer token (the admin's unless given). */
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any; text: string }>;
  /** A user with a token of their own. */
  tokenFor(user: string): Promise<string>;
  /** Waits until the job has ended and returns it. */
  ended(id: string, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

/**
 * The compiled daemon (so the dashboard is the one embedded in the executable), on a fresh data
 * directory and free ports, with a worker on the process runtime running the compiled runner.
 */
export async function startStack(): Promise<Stack> {
  const [daemon, runnerBuilt] = await Promise.all([ensureDaemonBinary(), ensureRunnerBinary()]);
  const base = mkdtempSync(join(tmpdir(), "rc-dash-"));
  // Embedded Postgres runs as another user: the data directory's parents must be traversable.
  chmodSync(base, 0o711);
  // A private copy: another suite may rebuild dist/reactorcide-runner meanwhile.
  const runner = join(base, "reactorcide-runner");
  await copyFile(runnerBuilt, runner);
  chmodSync(runner, 0o755);
  const served = await startServe(
    [daemon, "serve", "--data-dir", join(base, "data"), "--port", "0", "--corndogs-listen", "127.0.0.1:0", "--runtime", "process", "--runner-path", runner, "--concurrency", "4"],
    { HOME: join(base, "home"), XDG_CONFIG_HOME: join(base, "config"), DATABASE_URL: "", REACTORCIDE_MASTER_KEY: "", REACTORCIDE_URL: "", REACTORCIDE_TOKEN: "", NODE_ENV: "production" },
  );
  const scratch = join(base, "scratch");
  mkdirSync(scratch, { mode: 0o777 });
  chmodSync(scratch, 0o777);
  const admin = served.adminToken!;
  const url = served.url.replace(/\/$/, "");
  const call = (method: string, path: string, body?: unknown, token = admin) => callApi(url, method, path, body, token);
  return {
    url,
    admin,
    served,
    scratch,
    call,
    async tokenFor(user) {
      const r = await call("POST", "/api/v1/tokens", { name: `${user} dashboard test`, user });
      if (r.status !== 201) throw new Error(`token for ${user}: ${r.text}`);
      return r.json.token as string;
    },
    async ended(id, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = (await call("GET", `/api/v1/jobs/${id}`)).json;
        if (!["queued", "running"].includes(job.status)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}:\n${served.output().slice(-3000)}`);
        await Bun.sleep(50);
      }
    },
    async stop() {
      await served.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
