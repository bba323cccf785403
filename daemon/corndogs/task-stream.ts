import * as grpc from "@grpc/grpc-js";
import { checkUuid, CorndogsError } from "./errors.ts";
import { fromWire, type Task } from "./task.ts";
import type { GetNextTaskRequest, StreamTasksRequest, StreamTasksResponse } from "./wire.ts";

type DuplexCall = grpc.ClientDuplexStream<StreamTasksRequest, StreamTasksResponse>;

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The consumer's end of StreamTasks (our addition, corndogs.proto): `next()` grants the server
 * one task of credit and resolves with the task it pushes; `complete()` completes on the same
 * stream, answered as CompleteTask would be. Calls made in the same tick go out as one message,
 * so `Promise.all([stream.complete(task), stream.next()])` completes and asks for the next task
 * at once. Tasks are claimed as GetNextTask claims them (same lease); a consumer that dies leaves
 * them claimed until their timeout. Against a server without the RPC (a real Corndogs) every
 * call rejects with UNIMPLEMENTED. Once the stream fails or ends (the server went away, the token
 * was refused) every call rejects with that: open a new one.
 */
export class TaskStream {
  /** Pushed and not yet handed out (a next() was aborted after granting its credit). */
  private readonly ready: Task[] = [];
  private readonly waiting: Pending<Task>[] = [];
  private readonly completing = new Map<number, Pending<Task | undefined>>();
  private outgoing: StreamTasksRequest | undefined;
  private lastId = 0;
  private failure: CorndogsError | undefined;
  private closing = false;
  private readonly ended: Promise<void>;

  constructor(
    private readonly call: DuplexCall,
    claim: GetNextTaskRequest,
    /** Puts a task this consumer will not run back in its queue (UpdateTask). */
    private readonly putBack: (task: Task) => Promise<unknown>,
  ) {
    this.message().claim = claim;
    call.on("data", (m: StreamTasksResponse) => this.receive(m));
    this.ended = new Promise((resolve) => {
      call.on("error", (e: grpc.ServiceError) => {
        this.fail(new CorndogsError(e.code, e.details || e.message));
        resolve();
      });
      call.on("status", (s: grpc.StatusObject) => {
        this.fail(new CorndogsError(s.code === grpc.status.OK ? grpc.status.UNAVAILABLE : s.code, "the task stream ended"));
        resolve();
      });
    });
  }

  /** The next task claimed for this consumer; rejects with the signal's reason when aborted (the credit stays granted). */
  next(signal?: AbortSignal): Promise<Task> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new CorndogsError(grpc.status.CANCELLED, "the task stream is closed"));
    signal?.throwIfAborted();
    const task = this.ready.shift();
    if (task) return Promise.resolve(task);
    return new Promise<Task>((resolve, reject) => {
      const waiter: Pending<Task> = {
        resolve: (t) => {
          signal?.removeEventListener("abort", abort);
          resolve(t);
        },
        reject,
      };
      const abort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.waiting.push(waiter);
      this.message().credit++;
    });
  }

  /** Archives the task as `completed`, as CompleteTask: undefined when the uuid is unknown, FAILED_PRECONDITION when its state moved on. */
  complete(task: { uuid: string; currentState?: string; queue?: string }): Promise<Task | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    let uuid: string;
    try {
      uuid = checkUuid("uuid", task.uuid);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = (this.lastId = (this.lastId + 1) >>> 0);
    this.message().complete.push({ id, request: { uuid, queue: task.queue ?? "", current_state: task.currentState ?? "" } });
    return new Promise((resolve, reject) => this.completing.set(id, { resolve, reject }));
  }

  /** Ends the stream after the completions sent are answered; tasks pushed but not handed out go back to the queue. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      for (const w of this.waiting.splice(0)) w.reject(new CorndogsError(grpc.status.CANCELLED, "the task stream is closed"));
      this.flush();
      if (!this.failure) this.call.end();
    }
    await this.ended;
    await Promise.all(this.ready.splice(0).map((t) => this.putBack(t).catch(() => {})));
  }

  private message(): StreamTasksRequest {
    if (!this.outgoing) {
      this.outgoing = { claim: null, credit: 0, complete: [] };
      queueMicrotask(() => this.flush());
    }
    return this.outgoing;
  }

  private flush(): void {
    const m = this.outgoing;
    this.outgoing = undefined;
    if (m && !this.failure) this.call.write(m);
  }

  private receive(m: StreamTasksResponse): void {
    for (const wire of m.tasks) {
      const task = fromWire(wire);
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(task);
      else this.ready.push(task);
    }
    for (const c of m.completed) {
      const pending = this.completing.get(c.id);
      if (!pending) continue;
      this.completing.delete(c.id);
      if (c.code === grpc.status.OK) pending.resolve(c.task ? fromWire(c.task) : undefined);
      else pending.reject(new CorndogsError(c.code, c.details));
    }
    if (this.closing) void Promise.all(this.ready.splice(0).map((t) => this.putBack(t).catch(() => {})));
  }

  private fail(error: CorndogsError): void {
    this.failure ??= error;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    for (const p of this.completing.values()) p.reject(this.failure);
    this.completing.clear();
  }
}
