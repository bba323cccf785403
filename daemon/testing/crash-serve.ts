/**
 * A real `reactorcide serve` (from source) that a test kills with SIGKILL and starts again as
 * often as it needs, on one Postgres of the test cluster that outlives it, as in a deployment (an
 * embedded one would die with serve's process tree only partly), and one data directory: each
 * start sees what the last one left. Requests carry the admin token of the first start.
 *
 *   const d = await crashableServe("wf_crash", { flags: ["--no-worker"] });
 *   await d.start();                                   // listening
 *   await d.kill();                                    // kill -9 from outside
 *   await d.startUntilFailpoint("workflow.committed"); // dies by itself at that point (daemon/failpoints.ts)
 *   await d.close();                                   // in afterAll: stops what runs, removes its directory
 */
import { expect } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testDatabase } from "./postgres.ts";
import { callApi, startServe, type ApiAnswer, type Served } from "./serve-process.ts";

const mainTs = join(import.meta.dir, "..", "main.ts");

export interface CrashableServeOptions {
  /** serve's flags after --data-dir, --port 0 and --corndogs-listen 127.0.0.1:0 (e.g. --no-worker). */
  flags?: string[];
  env?: Record<string, string>;
}

export async function crashableServe(name: string, options: CrashableServeOptions = {}) {
  const base = mkdtempSync(join(tmpdir(), `rc-${name}-`));
  // The test cluster's Postgres runs as another user and must traverse it.
  chmodSync(base, 0o711);
  const dataDir = join(base, "data");
  const { url: databaseUrl } = await testDatabase(name);
  const env: Record<string, string> = {
    HOME: join(base, "home"),
    XDG_CONFIG_HOME: join(base, "config"),
    DATABASE_URL: databaseUrl,
    REACTORCIDE_MASTER_KEY: "",
    REACTORCIDE_URL: "",
    REACTORCIDE_TOKEN: "",
    REACTORCIDE_FAILPOINTS: "",
    NODE_ENV: "production",
    ...options.env,
  };
  const argv = [process.execPath, mainTs, "serve", "--data-dir", dataDir, "--port", "0", "--corndogs-listen", "127.0.0.1:0", ...(options.flags ?? [])];
  const started: Served[] = [];
  let admin = "";
  let current: Served | undefined;
  const serving = () => {
    if (!current?.url) throw new Error("no serve is listening");
    return current;
  };
  return {
    base,
    dataDir,
    /** The database every start uses: a test may look at it while serve is down. */
    databaseUrl,
    current: serving,
    async start(extraEnv: Record<string, string> = {}): Promise<Served> {
      current = await startServe(argv, { ...env, ...extraEnv });
      started.push(current);
      admin ||= current.adminToken!;
      return current;
    },
    /** kill -9 from outside. */
    async kill(): Promise<void> {
      serving().proc.kill("SIGKILL");
      await current!.proc.exited;
    },
    /**
     * Starts serve with these failpoints (`name[:n],...`) and waits until one kills it, whether
     * while it starts (recovery) or later (`then` runs once it listens: the requests that lead there).
     */
    async startUntilFailpoint(points: string, then?: (served: Served) => Promise<unknown>, timeoutMs = 60_000): Promise<string> {
      const s = await startServe(argv, { ...env, REACTORCIDE_FAILPOINTS: points }, { mayDie: true });
      started.push(s);
      current = s;
      if (s.url) {
        admin ||= s.adminToken!;
        await then?.(s);
      }
      const died = await Promise.race([s.proc.exited.then(() => true), Bun.sleep(timeoutMs).then(() => false)]);
      if (!died) s.proc.kill("SIGKILL");
      expect({ died, signal: s.proc.signalCode, said: /failpoint \S+ \(\d+\): kill -9/.test(s.output()) }).toEqual({ died: true, signal: "SIGKILL", said: true });
      return s.output();
    },
    call(method: string, path: string, body?: unknown, token = admin): Promise<ApiAnswer> {
      return callApi(serving().url, method, path, body, token);
    },
    /** Plays a worker (a worker token): the job runs and ends with `status`. */
    async endJob(worker: string, jobId: string, status: "success" | "failure"): Promise<void> {
      expect((await this.call("POST", `/api/v1/internal/jobs/${jobId}/status`, { status: "running", worker_id: "w1" }, worker)).status).toBe(200);
      expect((await this.call("POST", `/api/v1/internal/jobs/${jobId}/status`, { status, exit_code: status === "success" ? 0 : 1 }, worker)).status).toBe(200);
    },
    /** Stops every serve still running (SIGTERM, then SIGKILL) and removes the directory. */
    async close(): Promise<void> {
      for (const s of started) {
        if (s.proc.exitCode !== null || s.proc.signalCode !== null) continue;
        s.proc.kill("SIGTERM");
        if (!(await Promise.race([s.proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]))) s.proc.kill("SIGKILL");
        await s.proc.exited;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export type CrashableServe = Awaited<ReturnType<typeof crashableServe>>;
