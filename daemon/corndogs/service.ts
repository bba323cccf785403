import { checkInt64, checkUuid } from "./errors.ts";
import type { Claim, NewTask, TaskStore } from "./store.ts";
import type { CorndogsRpcs, GetNextTaskRequest, Int64, RpcName, SubmitTaskRequest, WireTask } from "./wire.ts";

export type RpcHandlers = { [K in RpcName]: (request: CorndogsRpcs[K][0]) => Promise<CorndogsRpcs[K][1]> };

const or = (value: string, fallback: string) => (value === "" ? fallback : value);
const payload = (value: Buffer | undefined) => value ?? Buffer.alloc(0);
const task = (t: WireTask | undefined) => ({ task: t ?? null });

function byQueue(rows: { queue: string; count: string | bigint }[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const r of rows) totals.set(r.queue, (totals.get(r.queue) ?? 0n) + BigInt(r.count));
  return totals;
}
const sum = (values: Iterable<bigint>) => [...values].reduce((a, b) => a + b, 0n);
const str = (n: bigint): Int64 => n.toString();

/** GetNextTask's request with the Corndogs defaults applied (StreamTasks claims with the same). */
export function claimOf(r: GetNextTaskRequest): Claim {
  return {
    queue: or(r.queue, "default"),
    currentState: or(r.current_state, "submitted"),
    overrideTimeout: checkInt64("override_timeout", r.override_timeout),
    overrideCurrentState: r.override_current_state,
    overrideAutoTargetState: r.override_auto_target_state,
  };
}

/** A SubmitTask request with the Corndogs defaults applied: the task it stores (the in-process submit path uses it too). */
export function newTask(r: SubmitTaskRequest): NewTask {
  const currentState = or(r.current_state, "submitted");
  const timeout = checkInt64("timeout", r.timeout);
  return {
    queue: or(r.queue, "default"),
    currentState,
    autoTargetState: or(r.auto_target_state, `${currentState}-working`),
    timeout: timeout > 0n ? timeout : 0n,
    payload: payload(r.payload),
    priority: checkInt64("priority", r.priority),
  };
}

/** The eleven RPCs with Corndogs 0.1.x defaults and status codes (/work/shared/corndogs.md). */
export function corndogsHandlers(store: TaskStore): RpcHandlers {
  return {
    async SubmitTask(r) {
      return task(await store.submit(newTask(r)));
    },
    async GetTaskStateByID(r) {
      return task(await store.get(checkUuid("uuid", r.uuid)));
    },
    async GetNextTask(r) {
      return task(await store.claim(claimOf(r)));
    },
    async UpdateTask(r) {
      const uuid = checkUuid("uuid", r.uuid);
      const newState = or(r.new_state, "updated");
      return task(
        await store.update({
          uuid,
          expectState: r.current_state,
          newState,
          autoTargetState: or(r.auto_target_state, `${newState}-working`),
          timeout: checkInt64("timeout", r.timeout),
          priority: checkInt64("priority", r.priority),
          payload: payload(r.payload),
        }),
      );
    },
    async CompleteTask(r) {
      return task(await store.archive(checkUuid("uuid", r.uuid), r.current_state, "completed"));
    },
    async CancelTask(r) {
      return task(await store.archive(checkUuid("uuid", r.uuid), r.current_state, "canceled"));
    },
    async CleanUpTimedOut(r) {
      const { count } = await store.cleanUpTimedOut(checkInt64("at_time", r.at_time), r.queue);
      return { timed_out: String(count) };
    },
    async GetQueues() {
      const totals = byQueue(await store.counts());
      return { queues: [...totals.keys()], total_task_count: str(sum(totals.values())) };
    },
    async GetQueueTaskCounts() {
      const totals = byQueue(await store.counts());
      return {
        queue_counts: Object.fromEntries([...totals].map(([q, n]) => [q, str(n)])),
        total_task_count: str(sum(totals.values())),
      };
    },
    async GetTaskStateCounts(r) {
      const queue = or(r.queue, "default");
      const rows = await store.counts(queue);
      return {
        queue,
        count: str(sum(rows.map((row) => BigInt(row.count)))),
        state_counts: Object.fromEntries(rows.map((row) => [row.state, String(row.count)])),
      };
    },
    async GetQueueAndStateCounts() {
      const result: CorndogsRpcs["GetQueueAndStateCounts"][1] = { queue_and_state_counts: {} };
      for (const row of await store.counts()) {
        const entry = (result.queue_and_state_counts[row.queue] ??= { queue: row.queue, count: "0", state_counts: {} });
        entry.count = str(BigInt(entry.count) + BigInt(row.count));
        entry.state_counts[row.state] = String(row.count);
      }
      return result;
    },
  };
}
