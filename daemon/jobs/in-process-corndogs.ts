/**
 * The embedded task queue's service called in this process, for the coordinator's own submits
 * and cancels when serve runs Corndogs itself on the same database: the same handlers (and
 * status codes) the gRPC server runs, without encoding, HTTP/2 and a loopback hop per job (at
 * 64 concurrent submits that hop was about a fifth of the server's CPU per POST /api/v1/jobs).
 * Workers still reach the queue over gRPC. A task submitted here is announced by NOTIFY, which
 * the embedded server hears as it hears another server on the same database, so its consumers
 * (the in-process worker's wake, TaskEvents streams) learn of it as before.
 */
import type { Sql } from "postgres";
import { checkInt64, checkUuid, CorndogsError } from "../corndogs/errors.ts";
import { TaskNotifier } from "../corndogs/notifier.ts";
import { corndogsHandlers, newTask } from "../corndogs/service.ts";
import { TaskStore } from "../corndogs/store.ts";
import type { TaskSubmitter } from "./corndogs-job-queue.ts";
import type { SubmitTaskInput } from "../corndogs/client.ts";
import type { SubmitTaskRequest } from "../corndogs/wire.ts";
import { status } from "@grpc/grpc-js";

export interface InProcessCorndogs extends TaskSubmitter {
  /** Sends what is still to be announced and stops. */
  close(): Promise<void>;
}

export function inProcessCorndogs(sql: Sql): InProcessCorndogs {
  const notifier = new TaskNotifier(sql, true);
  const store = new TaskStore(sql, notifier);
  const handlers = corndogsHandlers(store);
  const request = (input: SubmitTaskInput): SubmitTaskRequest => ({
    queue: input.queue ?? "",
    current_state: input.currentState ?? "",
    auto_target_state: input.autoTargetState ?? "",
    timeout: checkInt64("timeout", input.timeout).toString(),
    payload: Buffer.from(input.payload ?? ""),
    priority: checkInt64("priority", input.priority).toString(),
  });
  return {
    async submitTask(input) {
      const { task } = await handlers.SubmitTask(request(input));
      if (!task) throw new CorndogsError(status.INTERNAL, "SubmitTask returned no task");
      return { uuid: task.uuid };
    },
    async cancelTask(input) {
      return (await handlers.CancelTask({ uuid: checkUuid("uuid", input.uuid), queue: input.queue ?? "", current_state: input.currentState ?? "" })).task ?? undefined;
    },
    inlineTasks(inputs) {
      // Same defaults as SubmitTask; the rows go in the caller's statement, so a job's task
      // commits with the job (one statement, one commit) instead of after it.
      const tasks = inputs.map((input) => newTask(request(input)));
      const { sql: insert, uuids } = store.insertFragment(tasks);
      return { sql: insert, uuids, committed: () => store.announce(tasks.map((t) => t.queue)) };
    },
    close: () => notifier.close(),
  };
}
