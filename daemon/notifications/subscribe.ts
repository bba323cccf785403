/**
 * Where notifications hear about ends: the workflow engine's durable "workflow run ended" events
 * (daemon/workflows/events.ts, handed over at least once, in order) and the job service's durable
 * "job ended" events (daemon/jobs/outbox.ts, handled in the transaction that marks them done).
 * Recording is idempotent (one delivery per rule and run or job), so an event handed over again
 * adds nothing.
 */
import { eq } from "drizzle-orm";
import { WORKFLOW_RUN_ENDED, workflowRuns, type WorkflowRunStatus } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";
import type { WorkflowEvents, WorkflowRunEvent } from "../workflows/events.ts";
import type { JobEventBus } from "../jobs/outbox.ts";
import { endedOfJobView, endedOfRun } from "./ended.ts";
import { recordEnded } from "./outbox.ts";

export const SUBSCRIBER = "notifications";

/** Records the deliveries for one workflow run event (only "ended" ones count). */
export async function onWorkflowRunEvent(db: Db, event: Pick<WorkflowRunEvent, "kind" | "runId" | "status" | "createdAt">): Promise<number> {
  if (event.kind !== "ended" || !WORKFLOW_RUN_ENDED.includes(event.status as WorkflowRunStatus)) return 0;
  const [run] = await db.select().from(workflowRuns).where(eq(workflowRuns.id, event.runId)).limit(1);
  if (!run) return 0;
  return db.transaction((tx) => recordEnded(tx, endedOfRun(run, event.status, event.createdAt)));
}

/** Subscribes the outbox to workflow run events; returns the unsubscribe. */
export function subscribeToWorkflowRuns(db: Db, events: WorkflowEvents): () => void {
  return events.subscribe(SUBSCRIBER, async (event) => {
    await onWorkflowRunEvent(db, event);
  });
}

/** Subscribes the outbox to "job ended": jobs that ran on their own (a run's jobs come with their run). */
export function subscribeToJobEnds(events: JobEventBus): () => void {
  return events.subscribe(
    SUBSCRIBER,
    async (event, tx) => {
      const ended = endedOfJobView(event.job, event.at);
      if (ended) await recordEnded(tx, ended);
    },
    // A run's jobs are reported with their run (endedOfJobView).
    { kinds: ["ended"], wants: (event) => event.job.workflow_run_id === null },
  );
}
