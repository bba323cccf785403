/**
 * Builds and starts a worker from its configuration: the runtime, the Corndogs queue and the
 * coordinator's internal API. `reactorcide worker` and `reactorcide serve` both come here.
 */
import { consola } from "consola";
import { CorndogsClient, type WakeSource } from "../corndogs/client.ts";
import { JOB_TASK_QUEUE } from "../../runner/protocol/index.ts";
import { CorndogsWorkQueue } from "./corndogs-queue.ts";
import { HttpCoordinator } from "./http-coordinator.ts";
import type { WorkerConfig } from "./options.ts";
import type { Runtime } from "./runtimes/runtime.ts";
import { selectRuntime } from "./runtimes/select.ts";
import { Worker } from "./worker.ts";

/** The queue jobs travel on; the coordinator submits to it. */

export interface StartWorkerOptions {
  config: WorkerConfig;
  /** Coordinator base URL, e.g. http://127.0.0.1:8080. */
  coordinatorUrl: string;
  /** A worker-scoped API token. */
  token: string;
  /** Corndogs address (host:port or http(s)://host:port). */
  corndogsUrl: string;
  corndogsToken?: string;
  queue?: string;
  /** In-process wake-ups when the Corndogs server runs in this process. */
  wake?: WakeSource;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/**
 * Before taking jobs: whatever an earlier run of this worker left (it was killed mid-job) goes, so
 * no workspace, env file, container, Job or Secret outlives its job. The jobs themselves come back
 * through the queue when their leases run out and end `error`.
 */
export async function removeLeftovers(runtime: Runtime): Promise<string[]> {
  let left: string[];
  try {
    left = await runtime.leftovers();
    for (const jobId of left) await runtime.remove(jobId);
  } catch (error) {
    // The jobs' own ends still remove them (their tasks come back); the worker starts anyway.
    consola.warn(`could not look for what earlier runs left on ${runtime.name}: ${error instanceof Error ? error.message : error}`);
    return [];
  }
  if (left.length) consola.info(`removed what ${left.length} earlier job(s) left on ${runtime.name}: ${left.join(", ")}`);
  return left;
}

export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  // Jobs reach the coordinator where the worker does when that works from inside a job: on the
  // host (process runtime) or over https. A container cannot reach the host's loopback.
  if (!config.settings.jobCoordinatorUrl && (config.runtime === "process" || options.coordinatorUrl.startsWith("https://"))) {
    config.settings.jobCoordinatorUrl = options.coordinatorUrl;
  }
  const runtime = selectRuntime({ runtime: config.runtime, runnerPath: config.runnerPath || undefined, kubernetes: config.kubernetes }, config.settings);
  await removeLeftovers(runtime);
  const client = new CorndogsClient(options.corndogsUrl, { token: options.corndogsToken });
  const worker = new Worker({
    queue: new CorndogsWorkQueue(client, { queue: options.queue ?? JOB_TASK_QUEUE, leaseSeconds: config.leaseSeconds, wake: options.wake }),
    coordinator: new HttpCoordinator(options.coordinatorUrl, options.token),
    runtime,
    settings: config.settings,
    concurrency: config.concurrency,
    leaseSeconds: config.leaseSeconds,
  });
  worker.start();
  consola.info(
    `worker ${config.settings.workerId}: ${config.concurrency} slot(s), runtime ${runtime.name}, workspaces in ${config.settings.workspaceRoot}`,
  );
  return {
    worker,
    async stop() {
      await worker.stop();
      client.close();
    },
  };
}
