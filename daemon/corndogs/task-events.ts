import type * as grpc from "@grpc/grpc-js";
import { tokenGuard } from "./auth.ts";
import type { TaskNotifier } from "./notifier.ts";

export interface WatchTasksRequest {
  queues: string[];
}
export interface TaskReady {
  queue: string;
}

type WatchCall = grpc.ServerWritableStream<WatchTasksRequest, TaskReady>;

/**
 * reactorcide.queue.v1.TaskEvents: forwards the notifier's "task may be claimable" events to
 * remote clients, so their waitForTask polls at once (task-events.proto).
 */
export class TaskEvents {
  private readonly calls = new Set<WatchCall>();

  constructor(
    private readonly notifier: TaskNotifier,
    private readonly token: string | undefined,
  ) {}

  /** Ends every open watch (on shutdown; a graceful gRPC shutdown waits for open streams). */
  endAll(): void {
    for (const call of this.calls) call.end();
    this.calls.clear();
  }

  get implementation(): grpc.UntypedServiceImplementation {
    const guard = tokenGuard(this.token);
    return {
      WatchTasks: (call: WatchCall) => {
        const refused = guard(call.metadata);
        if (refused) return void call.emit("error", refused);
        const wanted = new Set(call.request.queues);
        const unsubscribe = this.notifier.subscribe((queue) => {
          if (wanted.size === 0 || wanted.has(queue)) call.write({ queue });
        });
        const stop = () => {
          unsubscribe();
          this.calls.delete(call);
        };
        call.on("cancelled", stop);
        call.on("close", stop);
        this.calls.add(call);
        call.write({ queue: "" });
      },
    };
  }
}
