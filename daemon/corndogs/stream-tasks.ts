import type * as grpc from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { tokenGuard } from "./auth.ts";
import { invalidArgument, statusOf } from "./errors.ts";
import type { TaskNotifier } from "./notifier.ts";
import { claimOf, type RpcHandlers } from "./service.ts";
import type { Claim, TaskStore } from "./store.ts";
import type { StreamCompletion, StreamTasksRequest, StreamTasksResponse, WireTask } from "./wire.ts";

type StreamCall = grpc.ServerDuplexStream<StreamTasksRequest, StreamTasksResponse>;

/** Pause before claiming again after a claim found nothing (credit unspent): doubles up to the last; a wake-up claims at once. */
const IDLE_FIRST_MS = 5;
const IDLE_LAST_MS = 500;
/** Most credit one stream may hold: one claim statement takes at most this many tasks for it. */
const MAX_CREDIT = 1000;

/**
 * One consumer's StreamTasks call: claims (through the store, grouped with every other claim and
 * completion in flight) as long as the consumer has credit, pushes what it claims, and answers
 * its completions. Tasks it claims after the consumer has gone are put back at once, as their
 * timeout would; tasks already pushed stay claimed until their timeout, as with GetNextTask.
 */
class ConsumerStream {
  private claim: Claim | undefined;
  private credit = 0;
  private claiming = false;
  /** A wake-up came while a claim was in flight: it may have missed the task, claim again. */
  private woken = false;
  private idleMs = IDLE_FIRST_MS;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private completing = 0;
  /** The consumer half-closed: answer its completions, claim nothing more, then end. */
  private ending = false;
  private closed = false;
  private outgoing: StreamTasksResponse | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly call: StreamCall,
    private readonly store: TaskStore,
    private readonly handlers: RpcHandlers,
    notifier: TaskNotifier,
    private readonly onClose: () => void,
  ) {
    this.unsubscribe = notifier.subscribe((queue) => this.wake(queue));
    call.on("data", (message: StreamTasksRequest) => this.receive(message));
    call.on("end", () => {
      this.ending = true;
      this.endWhenIdle();
    });
    for (const event of ["cancelled", "close", "error"]) call.on(event, () => this.close());
  }

  private receive(m: StreamTasksRequest): void {
    if (this.closed) return;
    try {
      if (m.claim) {
        if (this.claim) throw invalidArgument("claim: sent twice (a stream claims one kind of task, named in its first message)");
        this.claim = claimOf(m.claim);
      }
      if (m.credit > 0 && !this.claim) throw invalidArgument("credit before claim: the first message must name what to claim");
      if (this.credit + m.credit > MAX_CREDIT) throw invalidArgument(`credit: more than ${MAX_CREDIT} tasks outstanding`);
    } catch (error) {
      return this.fail(error);
    }
    for (const completion of m.complete) this.complete(completion);
    this.credit += m.credit;
    this.pump();
  }

  private complete({ id, request }: StreamCompletion): void {
    this.completing++;
    this.handlers
      .CompleteTask(request ?? { uuid: "", queue: "", current_state: "" })
      .then(
        (response) => this.send(undefined, { id, task: response.task, code: status.OK, details: "" }),
        (error: unknown) => this.send(undefined, { id, task: null, ...statusOf(error) }),
      )
      .finally(() => {
        this.completing--;
        this.endWhenIdle();
      });
  }

  private pump(): void {
    if (this.closed || this.ending || this.claiming || !this.claim || this.credit === 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.claiming = true;
    this.woken = false;
    const wanted = this.credit;
    const claim = this.claim;
    // Each claim joins the store's group commit: the credit of every stream goes in one statement.
    Promise.all(Array.from({ length: wanted }, () => this.store.claim(claim))).then(
      (claimed) => {
        this.claiming = false;
        const tasks = claimed.filter((t): t is WireTask => t !== undefined);
        if (this.closed || this.ending) {
          this.putBack(tasks);
          return this.endWhenIdle();
        }
        this.credit -= tasks.length;
        for (const t of tasks) this.send(t);
        if (tasks.length > 0) this.idleMs = IDLE_FIRST_MS;
        if (tasks.length === wanted || this.woken) return this.pump();
        this.idleTimer = setTimeout(() => this.pump(), this.idleMs);
        this.idleMs = Math.min(IDLE_LAST_MS, this.idleMs * 2);
      },
      (error: unknown) => {
        this.claiming = false;
        this.fail(error);
      },
    );
  }

  private wake(queue: string): void {
    if (!this.claim || queue !== this.claim.queue) return;
    if (this.claiming) this.woken = true;
    else if (this.idleTimer) this.pump();
  }

  /** Tasks and answers that come together (one commit's) go out as one message. */
  private send(task?: WireTask, completed?: StreamTasksResponse["completed"][number]): void {
    if (!this.outgoing) {
      this.outgoing = { tasks: [], completed: [] };
      setImmediate(() => this.flush());
    }
    if (task) this.outgoing.tasks.push(task);
    if (completed) this.outgoing.completed.push(completed);
  }

  private flush(): void {
    const message = this.outgoing;
    this.outgoing = undefined;
    if (!message) return;
    if (this.closed) return this.putBack(message.tasks);
    this.call.write(message);
  }

  /** Claimed for a consumer that is gone: back to the queue now, as its timeout would do later. */
  private putBack(tasks: WireTask[]): void {
    for (const t of tasks) {
      void this.store
        .update({
          uuid: t.uuid,
          expectState: t.current_state,
          newState: t.auto_target_state,
          autoTargetState: t.current_state,
          timeout: 0n,
          priority: BigInt(t.priority),
          payload: Buffer.alloc(0),
        })
        // Changed meanwhile, or the database is gone: its timeout still brings it back.
        .catch(() => {});
    }
  }

  private endWhenIdle(): void {
    if (!this.ending || this.closed || this.claiming || this.completing > 0) return;
    this.flush();
    this.call.end();
    this.close();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const { code, details } = statusOf(error);
    this.close();
    this.call.emit("error", { code, details });
  }

  /** On shutdown. */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.call.end();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.unsubscribe();
    this.onClose();
  }
}

/** StreamTasks (our addition to CorndogsService, corndogs.proto): one ConsumerStream per call, behind the token guard. */
export class TaskStreams {
  private readonly open = new Set<ConsumerStream>();
  private readonly guard: ReturnType<typeof tokenGuard>;

  constructor(
    private readonly store: TaskStore,
    private readonly handlers: RpcHandlers,
    private readonly notifier: TaskNotifier,
    token: string | undefined,
  ) {
    this.guard = tokenGuard(token);
  }

  readonly handler = (call: StreamCall): void => {
    const refused = this.guard(call.metadata);
    if (refused) return void call.emit("error", refused);
    const stream: ConsumerStream = new ConsumerStream(call, this.store, this.handlers, this.notifier, () => this.open.delete(stream));
    this.open.add(stream);
  };

  /** Ends every open stream (a graceful gRPC shutdown waits for them). */
  endAll(): void {
    for (const stream of [...this.open]) stream.end();
  }
}
