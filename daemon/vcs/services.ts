import type { Sql } from "postgres";
import type { Db } from "../db/client.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { MasterKey } from "../secrets/cipher.ts";
import type { LogArchive } from "../storage/log-archive.ts";
import type { WorkflowEngine } from "../workflows/engine.ts";
import { DeliveryProcessor } from "./deliveries.ts";
import { evalProblemReader } from "./eval-problems.ts";
import { VcsReporter } from "./reporter.ts";
import { StatusSync } from "./status-sync.ts";

export interface VcsServicesOptions {
  db: Db;
  sql: Sql;
  queue: JobQueue;
  keys: readonly MasterKey[];
  publicUrl?: string;
  evalImage?: string;
  /** Where ended jobs' logs are, to show an eval's problems (without it, a failed eval shows its reason only). */
  archive?: LogArchive;
  /** Reporter backoff (tests shorten it). */
  baseBackoffMs?: number;
  log?: (message: string) => void;
}

/** The coordinator's VCS side: deliveries → eval jobs, job events → statuses, the outbox → the forge. */
export interface VcsServices {
  processor: DeliveryProcessor;
  reporter: VcsReporter;
  sync: StatusSync;
  deliveryRecorded(): void;
  /** The workflow engine (built after these services): pull request comments' approvals are applied from then on. */
  useWorkflows(workflows: WorkflowEngine): void;
  stop(): Promise<void>;
}

/** Starts them and catches up on what a restart left: received deliveries, unsent reports, statuses behind their jobs. */
export async function startVcsServices(o: VcsServicesOptions): Promise<VcsServices> {
  const reporter = new VcsReporter({ db: o.db, sql: o.sql, keys: o.keys, baseBackoffMs: o.baseBackoffMs, log: o.log });
  const problems = o.archive ? evalProblemReader(o.sql, o.archive) : undefined;
  const sync = new StatusSync({ db: o.db, publicUrl: o.publicUrl, problems, onReports: () => reporter.kick(), log: o.log });
  const processor = new DeliveryProcessor({ db: o.db, queue: o.queue, keys: o.keys, evalImage: o.evalImage, publicUrl: o.publicUrl, onReports: () => reporter.kick(), log: o.log });
  sync.start();
  reporter.start();
  processor.kick();
  void sync.reconcile().catch((error) => o.log?.(`vcs statuses: ${(error as Error).message}`));
  return {
    processor,
    reporter,
    sync,
    deliveryRecorded: () => processor.kick(),
    useWorkflows: (workflows) => processor.useWorkflows(workflows),
    async stop() {
      await processor.stop();
      await sync.stop();
      await reporter.stop();
    },
  };
}
