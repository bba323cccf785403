import * as grpc from "@grpc/grpc-js";
import postgres, { type Sql } from "postgres";
import { tokenGuard } from "./auth.ts";
import { statusOf } from "./errors.ts";
import { Health } from "./health.ts";
import { formatHostPort, isLoopback, parseListen } from "./listen-address.ts";
import { migrateQueue } from "./migrate.ts";
import { CORNDOGS_SERVICE_NAME, CorndogsService, HealthService, TaskEventsService } from "./proto.ts";
import { corndogsHandlers, type RpcHandlers } from "./service.ts";
import { TaskNotifier } from "./notifier.ts";
import { TaskStore } from "./store.ts";
import { TaskStreams } from "./stream-tasks.ts";
import { TaskEvents } from "./task-events.ts";
import type { RpcName } from "./wire.ts";

export const DEFAULT_CORNDOGS_LISTEN = "127.0.0.1:5080";

export interface CorndogsServerOptions {
  /** A postgres.js client to use as is (not ended by close()); it must not transform column names. */
  sql?: Sql;
  /** Or a database URL: the server opens (and closes) its own pool. */
  databaseUrl?: string;
  /** Pool size when the server opens its own pool (at least 2). */
  poolSize?: number;
  /** host:port; port 0 picks a free one. Default 127.0.0.1:5080. */
  listen?: string;
  /** Shared token (CORNDOGS_TOKEN): every Corndogs call must send `authorization: Bearer <token>`. */
  token?: string;
  /** Listening beyond loopback without a token is refused unless this is set. */
  allowRemoteWithoutToken?: boolean;
  /** NOTIFY other servers on the same database of new or re-claimable tasks (default true). */
  notify?: boolean;
}

export interface CorndogsServer {
  /** host:port actually bound. */
  readonly address: string;
  readonly port: number;
  /**
   * Calls `listener(queue)` whenever a task may have become claimable: at once for tasks that
   * pass through this server, by LISTEN/NOTIFY for other servers on the same database.
   * Returns the unsubscribe.
   */
  onTask(listener: (queue: string) => void): () => void;
  close(): Promise<void>;
}

function unaryHandlers(handlers: RpcHandlers, token: string | undefined): grpc.UntypedServiceImplementation {
  const guard = tokenGuard(token);
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(handlers) as RpcName[]) {
    const handler = handlers[name] as (request: unknown) => Promise<unknown>;
    impl[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const refused = guard(call.metadata);
      if (refused) return callback(refused);
      handler(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => callback(statusOf(error)),
      );
    };
  }
  return impl;
}

/**
 * Serves the Corndogs v1alpha1 gRPC service (and grpc.health.v1.Health) on Postgres, after
 * applying the queue migrations.
 */
export async function startCorndogsServer(options: CorndogsServerOptions): Promise<CorndogsServer> {
  const listen = parseListen(options.listen ?? DEFAULT_CORNDOGS_LISTEN);
  if (!isLoopback(listen.host) && !options.token && !options.allowRemoteWithoutToken) {
    throw new Error(
      `corndogs listen: ${listen.host} is reachable beyond this machine; set a token (CORNDOGS_TOKEN) ` +
        `or listen on loopback (127.0.0.1)`,
    );
  }
  if (!options.sql && !options.databaseUrl) throw new Error("startCorndogsServer needs sql or databaseUrl");
  const ownSql = options.sql ? undefined : postgres(options.databaseUrl!, { max: Math.max(2, options.poolSize ?? 10), onnotice: () => {} });
  const sql = options.sql ?? ownSql!;
  const notifier = new TaskNotifier(sql, options.notify ?? true);
  let server: grpc.Server | undefined;
  try {
    await migrateQueue(sql);
    const health = new Health([CORNDOGS_SERVICE_NAME]);
    server = new grpc.Server({
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      // Channelz keeps per-call statistics and traces nobody reads here: CPU on every call.
      "grpc.enable_channelz": 0,
      "grpc.http2.min_ping_interval_without_data_ms": 5_000,
    });
    const store = new TaskStore(sql, notifier);
    const handlers = corndogsHandlers(store);
    const streams = new TaskStreams(store, handlers, notifier, options.token);
    server.addService(CorndogsService.service, { ...unaryHandlers(handlers, options.token), StreamTasks: streams.handler });
    server.addService(HealthService.service, health.implementation);
    const events = new TaskEvents(notifier, options.token);
    server.addService(TaskEventsService.service, events.implementation);
    const bound = server;
    const port = await new Promise<number>((resolve, reject) =>
      bound.bindAsync(formatHostPort(listen.host, listen.port), grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(new Error(`corndogs could not listen on ${options.listen}: ${error.message}`)) : resolve(p),
      ),
    );
    const address = formatHostPort(listen.host, port);
    return {
      address,
      port,
      onTask: (listener) => notifier.subscribe(listener),
      async close() {
        health.setAll("NOT_SERVING");
        health.endWatches();
        events.endAll();
        streams.endAll();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => bound.forceShutdown(), 5_000);
          bound.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await notifier.close();
        await ownSql?.end({ timeout: 5 });
      },
    };
  } catch (error) {
    server?.forceShutdown();
    await ownSql?.end({ timeout: 1 });
    throw error;
  }
}
