/**
 * `reactorcide serve` as one process: the coordinator (API on Postgres), the task queue (the
 * embedded Corndogs server on the same database, or an external one named by CORNDOGS_URL), the
 * timeout sweeper, and optionally a worker that reaches the API and the queue over the network
 * exactly as a remote worker does.
 */
import { and, eq, sql } from "drizzle-orm";
import { apiTokens } from "../../schema/app/index.ts";
import { issueToken, revokeTokens } from "../auth/tokens.ts";
import { ensureUser } from "../auth/users.ts";
import type { Db } from "../db/client.ts";
import { CorndogsClient } from "../corndogs/client.ts";
import { CorndogsJobQueue } from "../jobs/corndogs-job-queue.ts";
import { inProcessCorndogs, type InProcessCorndogs } from "../jobs/in-process-corndogs.ts";
import { formatHostPort, parseListen } from "../corndogs/listen-address.ts";
import { startCorndogsServer, type CorndogsServer } from "../corndogs/server.ts";
import { startTimeoutSweeper } from "../corndogs/sweeper.ts";
import type { WorkerConfig } from "../worker/options.ts";
import { startWorker, type RunningWorker } from "../worker/start.ts";
import { startCoordinator, type Coordinator } from "./coordinator.ts";
import { requeueStranded } from "./requeue.ts";

/** The user the in-process worker's token belongs to. */
const SERVE_WORKER_USER = "serve-worker";

export interface ServeOptions {
  dataDir: string;
  databaseUrl?: string;
  host: string;
  port: number;
  /** Embedded Corndogs address (host:port); ignored when corndogsUrl is set. */
  corndogsListen: string;
  /** CORNDOGS_URL: an external Corndogs; then none is started here. */
  corndogsUrl?: string;
  /** CORNDOGS_TOKEN: required by the embedded server, sent to either. */
  corndogsToken?: string;
  /** Undefined: coordinator only (--no-worker). */
  worker?: WorkerConfig;
  sweepIntervalMs?: number;
  /** --public-url / REACTORCIDE_PUBLIC_URL: the address in status links. */
  publicUrl?: string;
  onPostgresLog?: (line: string) => void;
}

export interface Served {
  coordinator: Coordinator;
  /** The embedded server's bound address, or the external CORNDOGS_URL. */
  corndogsAddress: string;
  corndogsEmbedded: boolean;
  /** Queued jobs that had no task and were submitted again at start. */
  requeued: number;
  worker?: RunningWorker;
  /** Stops the worker (waiting for its running jobs), then the queue, the API and Postgres. */
  stop(): Promise<void>;
}

/** Where a process on this machine reaches a listener bound to `host` (a wildcard means loopback). */
function localHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host;
}


/**
 * A fresh worker-scoped token for the in-process worker, revoked again on stop. Leftovers of
 * starts that crashed are revoked here; tokens of other live serves on the same database are not.
 */
/** A live worker uses its token at least every minute (heartbeats); one idle for an hour is a leftover. */
const staleToken = sql`coalesce(${apiTokens.lastUsedAt}, ${apiTokens.createdAt}) < now() - interval '1 hour'`;

async function internalWorkerToken(db: Db): Promise<{ token: string; revoke(): Promise<void> }> {
  const user = await ensureUser(db, SERVE_WORKER_USER, false);
  await revokeTokens(db, and(eq(apiTokens.userId, user.id), staleToken));
  const issued = await issueToken(db, { userId: user.id, name: "serve's in-process worker", scopes: ["worker"] });
  return {
    token: issued.token,
    revoke: async () => {
      await revokeTokens(db, eq(apiTokens.id, issued.id));
    },
  };
}

export async function startServe(options: ServeOptions): Promise<Served> {
  const queue = new CorndogsJobQueue();
  let corndogsAddress = options.corndogsUrl ?? "";
  let embedded: CorndogsServer | undefined;
  let requeued = 0;
  let workerToken: { token: string; revoke(): Promise<void> } | undefined;

  const coordinator = await startCoordinator({
    dataDir: options.dataDir,
    databaseUrl: options.databaseUrl,
    host: options.host,
    port: options.port,
    queue,
    publicUrl: options.publicUrl,
    evalImage: options.worker?.settings.defaultImage ?? (process.env.REACTORCIDE_DEFAULT_IMAGE || undefined),
    onPostgresLog: options.onPostgresLog,
    beforeListen: async (database) => {
      if (!options.corndogsUrl) {
        embedded = await startCorndogsServer({ sql: database.sql, listen: options.corndogsListen, token: options.corndogsToken });
        const bound = parseListen(embedded.address);
        corndogsAddress = formatHostPort(localHost(bound.host), bound.port);
      }
      const client = new CorndogsClient(corndogsAddress, { token: options.corndogsToken });
      // The coordinator's own submits skip the gRPC hop when the queue runs in this process.
      const local: InProcessCorndogs | undefined = embedded ? inProcessCorndogs(database.sql) : undefined;
      queue.attach(local ?? client);
      const sweeper = startTimeoutSweeper(client, { intervalMs: options.sweepIntervalMs });
      try {
        // Before the API takes requests, so a job submitted now is never counted as stranded.
        requeued = await requeueStranded(database, queue, embedded !== undefined);
        if (options.worker) workerToken = await internalWorkerToken(database.db);
      } catch (error) {
        sweeper.stop();
        queue.close();
        client.close();
        await local?.close();
        await embedded?.close();
        throw error;
      }
      return {
        async close() {
          sweeper.stop();
          queue.close();
          await workerToken?.revoke().catch(() => {});
          client.close();
          await local?.close();
          await embedded?.close();
        },
      };
    },
  });

  let worker: RunningWorker | undefined;
  if (options.worker && workerToken) {
    try {
      worker = await startWorker({
        config: options.worker,
        coordinatorUrl: `http://${formatHostPort(localHost(options.host), coordinator.port)}`,
        token: workerToken.token,
        corndogsUrl: corndogsAddress,
        corndogsToken: options.corndogsToken,
        wake: embedded ? embedded.onTask.bind(embedded) : undefined,
      });
    } catch (error) {
      await coordinator.stop();
      throw error;
    }
  }

  return {
    coordinator,
    corndogsAddress: embedded ? embedded.address : corndogsAddress,
    corndogsEmbedded: embedded !== undefined,
    requeued,
    worker,
    async stop() {
      await worker?.stop();
      await coordinator.stop();
    },
  };
}
