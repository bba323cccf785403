import { sql } from "drizzle-orm";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { JOB_STATUSES } from "../../runner/protocol/index.ts";
import { DELIVERY_STATUSES, jobs, notificationDeliveries, WORKFLOW_RUN_STATUSES, workflowRuns } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";

/** One registry per app, so tests can build several apps in one process. */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<"method" | "route" | "status">;
  jobDuration: Histogram<"status">;
  jobsSubmitted: Counter;
  /** Between a workflow node becoming ready (its job queued) and its job starting. */
  workflowNodeWait: Histogram;
}

export function createMetrics(db: Db): Metrics {
  const registry = new Registry();
  const httpDuration = new Histogram({
    name: "reactorcide_http_request_duration_seconds",
    help: "HTTP request duration by route template",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: "reactorcide_job_duration_seconds",
    help: "Time from start to end of finished jobs",
    labelNames: ["status"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });
  const jobsSubmitted = new Counter({ name: "reactorcide_jobs_submitted_total", help: "Jobs submitted", registers: [registry] });
  // Read from the database at scrape time, so several coordinators report the same truth.
  new Gauge({
    name: "reactorcide_jobs",
    help: "Jobs by status",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      const rows = await db.select({ status: jobs.status, n: sql<number>`count(*)::int` }).from(jobs).groupBy(jobs.status);
      const counts = new Map(rows.map((r) => [r.status, r.n]));
      for (const status of JOB_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: "reactorcide_queue_depth",
    help: "Jobs waiting for a worker",
    registers: [registry],
    async collect() {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(jobs).where(sql`${jobs.status} = 'queued'`);
      this.set(row?.n ?? 0);
    },
  });
  // Read at scrape time like the job gauges: pending (with and without a failed attempt), delivered, failed.
  new Gauge({
    name: "reactorcide_notification_deliveries",
    help: "Notification deliveries in the outbox by state (retrying: pending after a failed attempt)",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const rows = await db
        .select({
          state: sql<string>`case when ${notificationDeliveries.state} = 'pending' and ${notificationDeliveries.lastError} is not null then 'retrying' else ${notificationDeliveries.state} end`,
          n: sql<number>`count(*)::int`,
        })
        .from(notificationDeliveries)
        .groupBy(sql`1`);
      const counts = new Map(rows.map((r) => [r.state, r.n]));
      for (const state of [...DELIVERY_STATUSES, "retrying"]) this.set({ state }, counts.get(state) ?? 0);
    },
  });
  const workflowNodeWait = new Histogram({
    name: "reactorcide_workflow_node_wait_seconds",
    help: "Time workflow nodes wait between becoming ready (dependencies ended, job queued) and their job starting",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
    registers: [registry],
  });
  new Gauge({
    name: "reactorcide_workflow_runs",
    help: "Workflow runs by status",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      const rows = await db.select({ status: workflowRuns.status, n: sql<number>`count(*)::int` }).from(workflowRuns).groupBy(workflowRuns.status);
      const counts = new Map(rows.map((r) => [r.status, r.n]));
      for (const status of WORKFLOW_RUN_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  return { registry, httpDuration, jobDuration, jobsSubmitted, workflowNodeWait };
}
