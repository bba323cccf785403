import { buildApp } from "../api/app.ts";
import { DEFAULT_BODY_LIMIT } from "../api/deps.ts";
import { LOG_BATCH_BODY_LIMIT } from "../api/routes/internal.ts";
import { cacheVerifiedTokens } from "../auth/token-cache.ts";
import { bootstrapAdmin } from "../auth/users.ts";
import { openDatabase, type Database } from "../db/database.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { JobEventBus } from "../jobs/outbox.ts";
import { Notifier } from "../notifications/dispatcher.ts";
import { notificationSettingsFromEnv } from "../notifications/settings.ts";
import { subscribeToJobEnds, subscribeToWorkflowRuns } from "../notifications/subscribe.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { logArchiveFromEnv } from "../storage/from-env.ts";
import { workflowLimitsFromEnv } from "../workflows/limits.ts";
import { WEBHOOK_BODY_LIMIT } from "../vcs/receive.ts";
import { startVcsServices, type VcsServices } from "../vcs/services.ts";

export interface CoordinatorOptions {
  dataDir: string;
  databaseUrl?: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  bodyLimit?: number;
  /** Where submitted jobs go (serve: the Corndogs task queue). */
  queue: JobQueue;
  /**
   * Runs on the open, migrated database before the API takes requests (serve starts its task
   * queue here); what it returns is closed after the API stops and before the database does.
   */
  beforeListen?: (database: Database) => Promise<{ close(): Promise<void> }>;
  onPostgresLog?: (line: string) => void;
  /** The address people reach the daemon at (--public-url), for links in commit statuses and comments. */
  publicUrl?: string;
  /** The image eval jobs run in (default reactorcide/runner:dev). */
  evalImage?: string;
}

export interface Coordinator {
  url: string;
  port: number;
  database: Database;
  /** Set only on the start that created the first administrator. */
  adminToken?: string;
  /** Set when the master key was generated into this file just now. */
  generatedKeyFile?: string;
  vcs: VcsServices;
  stop(): Promise<void>;
}

/** Opens the database (migrating it), makes sure an administrator exists and listens. */
export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const { key, generatedAt } = await loadMasterKey(options.dataDir);
  const archive = logArchiveFromEnv(process.env, options.dataDir);
  const notifications = notificationSettingsFromEnv(process.env);
  const database = await openDatabase({ dataDir: options.dataDir, databaseUrl: options.databaseUrl, onLog: options.onPostgresLog });
  let attached: { close(): Promise<void> } | undefined;
  let notifier: Notifier | undefined;
  let vcs: VcsServices | undefined;
  let jobEventBus: JobEventBus | undefined;
  let stopTokenCache: (() => Promise<void>) | undefined;
  try {
    const admin = await bootstrapAdmin(database.db);
    stopTokenCache = await cacheVerifiedTokens(database.db, database.sql);
    attached = await options.beforeListen?.(database);
    const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    const queue = options.queue;
    vcs = await startVcsServices({
      db: database.db,
      sql: database.sql,
      queue,
      keys: [key],
      publicUrl: options.publicUrl ?? notifications.publicUrl,
      evalImage: options.evalImage,
      archive,
      log: (line) => console.error(line),
    });
    const publicUrl = options.publicUrl ?? notifications.publicUrl;
    notifier = new Notifier({ db: database.db, sql: database.sql, archive, keys: [key], publicUrl: publicUrl ?? "", mail: notifications.mail });
    const { app, workflows, jobs } = buildApp({
      db: database.db,
      sql: database.sql,
      queue,
      archive,
      key,
      notifier,
      bodyLimit,
      workflowLimits: workflowLimitsFromEnv(process.env),
      vcs,
    });
    // Runs a crash left mid-way move on before new requests come (no node is created twice: advancing is one transaction per step).
    await workflows.recover();
    vcs.sync.followRuns(workflows.events);
    vcs.useWorkflows(workflows);
    vcs.sync.followJobs(jobs.events);
    // Durable "job submitted" / "job ended" subscribers are registered here, before the bus starts
    // (jobs.events.subscribe(name, handler); daemon/jobs/outbox.ts). Events a crash left
    // undelivered are handed over now.
    const unsubscribeJobEnds = subscribeToJobEnds(jobs.events);
    await jobs.events.start();
    jobEventBus = jobs.events;
    // The app refuses bodies over bodyLimit with its own 413 error body; Bun's own cap (an empty
    // 413) sits well above it and only bounds what a chunked body can make it buffer (webhooks may be 25 MB, log batches 8 MB).
    app.listen({ hostname: options.host, port: options.port, maxRequestBodySize: Math.max(bodyLimit * 16, LOG_BATCH_BODY_LIMIT * 4, WEBHOOK_BODY_LIMIT) });
    const server = app.server!;
    const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
    if (!publicUrl) notifier.usePublicUrl(`http://${shownHost}:${server.port}`);
    await notifier.start();
    const unsubscribeNotifications = subscribeToWorkflowRuns(database.db, workflows.events);
    return {
      url: `http://${shownHost}:${server.port}`,
      port: server.port!,
      database,
      adminToken: admin?.token,
      generatedKeyFile: generatedAt,
      vcs,
      async stop() {
        await app.stop();
        unsubscribeNotifications();
        unsubscribeJobEnds();
        await jobs.events.stop();
        await notifier?.stop();
        workflows.close();
        await vcs?.stop();
        await attached?.close();
        await stopTokenCache?.();
        await database.close();
      },
    };
  } catch (error) {
    await jobEventBus?.stop();
    await notifier?.stop();
    await vcs?.stop();
    await attached?.close();
    await stopTokenCache?.();
    await database.close();
    throw error;
  }
}
