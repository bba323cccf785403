/**
 * A whole Reactorcide in one process for end-to-end tests and benchmarks: the real HTTP API on a
 * fresh database, the embedded Corndogs server on the same database, and workers that reach both
 * over the network exactly as remote workers do.
 */
import { TERMINAL_STATUSES, type Job } from "../../../runner/protocol/index.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheVerifiedTokens } from "../../auth/token-cache.ts";
import { CorndogsClient } from "../../corndogs/client.ts";
import { CorndogsJobQueue } from "../../jobs/corndogs-job-queue.ts";
import { startCorndogsServer, type CorndogsServer } from "../../corndogs/server.ts";
import { testApi } from "../../testing/api.ts";
import type { WorkerConfig } from "../options.ts";
import type { KubernetesRuntimeOptions } from "../runtimes/kubernetes/kubernetes.ts";
import { defaultSettings, type WorkerSettings } from "../settings.ts";
import { startWorker, type RunningWorker } from "../start.ts";

export interface SystemWorkerOptions {
  runtime: string;
  runnerPath?: string;
  concurrency: number;
  leaseSeconds?: number;
  settings?: Partial<WorkerSettings>;
  /** For runtime "kubernetes": the cluster (e.g. the stand-in's kubeConfig()) and job pod settings. */
  kubernetes?: KubernetesRuntimeOptions;
}

export type JobView = Job;

export async function startTestSystem(options: { image: string }) {
  // The coordinator's queue exactly as serve wires it.
  const queue = new CorndogsJobQueue();
  const api = await testApi({ queue });
  // Verified tokens are cached (and revocations heard) as serve does it.
  const stopTokenCache = await cacheVerifiedTokens(api.db, api.sql);
  const corndogs: CorndogsServer = await startCorndogsServer({ sql: api.sql, listen: "127.0.0.1:0" });
  const client = new CorndogsClient(corndogs.address);
  queue.attach(client);
  // Job events reach their subscribers (workflow advance) as in serve.
  await api.jobs.events.start();
  const server = api.app.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${server.server!.port}`;
  const workerToken = await api.tokenFor("test-worker", { worker: true });
  const project = await api.call("POST", "/api/v1/projects", { body: { name: `p${crypto.randomUUID().slice(0, 8)}`, default_image: options.image } });
  if (project.status !== 201) throw new Error(`creating the test project: ${project.status} ${project.text}`);
  const projectId: string = project.json.id;
  const workers: RunningWorker[] = [];
  /** Workspace roots of the workers, removed by close(). */
  const roots: string[] = [];

  async function http(method: string, path: string, body?: unknown) {
    const response = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${api.admin}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = response.headers.get("content-type")?.includes("json") && text ? JSON.parse(text) : null;
    return { status: response.status, text, json };
  }

  return {
    url,
    api,
    queueClient: client,
    corndogs,
    workerToken,
    projectId,
    http,

    async addWorker(w: SystemWorkerOptions): Promise<RunningWorker> {
      const settings = defaultSettings({
        workerId: `w-${crypto.randomUUID().slice(0, 8)}`,
        workspaceRoot: roots[roots.push(await mkdtemp(join(tmpdir(), "reactorcide-sys-ws-"))) - 1]!,
        defaultImage: options.image,
        gracePeriod: 2,
        cancelPollMs: 200,
        ...w.settings,
      });
      const config: WorkerConfig = { concurrency: w.concurrency, runtime: w.runtime, runnerPath: w.runnerPath ?? "", leaseSeconds: w.leaseSeconds ?? 30, settings, kubernetes: w.kubernetes };
      const running = await startWorker({ config, coordinatorUrl: url, token: workerToken, corndogsUrl: corndogs.address, wake: corndogs.onTask.bind(corndogs) });
      workers.push(running);
      return running;
    },

    async setSecret(key: string, value: string) {
      const r = await http("PUT", `/api/v1/projects/${projectId}/secrets/${key}`, { value });
      if (r.status >= 300) throw new Error(`setting secret ${key}: ${r.status} ${r.text}`);
    },

    async submit(job: Record<string, unknown>): Promise<JobView> {
      const r = await http("POST", "/api/v1/jobs", { project: projectId, ...job });
      if (r.status !== 201) throw new Error(`submit: ${r.status} ${r.text}`);
      return r.json;
    },

    async job(id: string): Promise<JobView> {
      return (await http("GET", `/api/v1/jobs/${id}`)).json;
    },

    async logText(id: string): Promise<string> {
      return (await http("GET", `/api/v1/jobs/${id}/logs`)).text;
    },

    async waitFor(id: string, statuses: string[] = [...TERMINAL_STATUSES], limitMs = 120_000): Promise<JobView> {
      const deadline = Date.now() + limitMs;
      for (;;) {
        const job = await this.job(id);
        if (statuses.includes(job.status)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${limitMs} ms`);
        await Bun.sleep(25);
      }
    },

    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      server.stop(true);
      client.close();
      await corndogs.close();
      await stopTokenCache();
      await api.close();
      await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
    },
  };
}

export type TestSystem = Awaited<ReturnType<typeof startTestSystem>>;
