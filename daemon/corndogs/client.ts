import * as grpc from "@grpc/grpc-js";
import { bearerMetadata } from "./auth.ts";
import { nowNs } from "./clock.ts";
import { checkInt64, checkUuid, CorndogsError } from "./errors.ts";
import { CorndogsService, TaskEventsService } from "./proto.ts";
import type { TaskReady, WatchTasksRequest } from "./task-events.ts";
import { TaskStream } from "./task-stream.ts";
import { fromWire, type Task } from "./task.ts";
import type { CorndogsRpcs, GetNextTaskRequest, RpcName, TaskResponse } from "./wire.ts";

export type { Task } from "./task.ts";
export type { TaskStream } from "./task-stream.ts";


type Int = bigint | number;
type Bytes = Uint8Array | string;

export interface SubmitTaskInput {
  /** Default `default`. */
  queue?: string;
  /** Default `submitted`. */
  currentState?: string;
  /** Default current state + `-working`. */
  autoTargetState?: string;
  /** Seconds; 0 or negative: none. */
  timeout?: Int;
  payload?: Bytes;
  priority?: Int;
}
export interface ClaimInput {
  queue?: string;
  currentState?: string;
  /** 0 keeps the task's timeout, negative clears it, positive sets it (seconds). */
  overrideTimeout?: Int;
  overrideCurrentState?: string;
  overrideAutoTargetState?: string;
}
export interface UpdateTaskInput {
  uuid: string;
  /** When set, the server refuses (FAILED_PRECONDITION) unless the task is in this state. */
  currentState?: string;
  /** Default `updated`. */
  newState?: string;
  /** Default new state + `-working`. */
  autoTargetState?: string;
  /** Omitted means 0, as on the wire. */
  timeout?: Int;
  priority?: Int;
  /** Empty keeps the stored payload. */
  payload?: Bytes;
  queue?: string;
}
export interface FinishTaskInput {
  uuid: string;
  /** When set, refused (FAILED_PRECONDITION) unless the task is in this state. */
  currentState?: string;
  queue?: string;
}
export interface QueueCounts {
  count: bigint;
  states: Record<string, bigint>;
}

export interface CorndogsClientOptions {
  /** Shared token, sent as `authorization: Bearer <token>`. */
  token?: string;
  /** TLS even for a bare host:port (an https:// target implies it). */
  tls?: boolean;
  /** Per-call deadline; default 30 s. */
  deadlineMs?: number;
}

/** Subscribes to "a task may be claimable in this queue" events; returns the unsubscribe. */
export type WakeSource = (listener: (queue: string) => void) => () => void;

export interface WaitOptions {
  signal?: AbortSignal;
  /** First and last pause between empty polls; the pause doubles, and resets after a task. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** In-process wake-ups (the embedded server's onTask): poll at once instead of sleeping. */
  wake?: WakeSource;
  /**
   * Without `wake`: listen to the server's TaskEvents stream (our server's addition) and poll at
   * once when it says a task arrived. Default true; a server without it (a real Corndogs) is
   * noticed once and the client just polls.
   */
  serverWake?: boolean;
}

const bytes = (value: Bytes | undefined) =>
  value === undefined ? Buffer.alloc(0) : typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
const int64 = (field: string, value: Int | undefined) => checkInt64(field, value).toString();

function claimRequest(input: ClaimInput): GetNextTaskRequest {
  return {
    queue: input.queue ?? "",
    current_state: input.currentState ?? "",
    override_timeout: int64("override_timeout", input.overrideTimeout),
    override_current_state: input.overrideCurrentState ?? "",
    override_auto_target_state: input.overrideAutoTargetState ?? "",
  };
}
const taskOf = (r: TaskResponse) => (r.task ? fromWire(r.task) : undefined);
const counts = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, BigInt(v)]));

/** Splits `CORNDOGS_URL` (host:port, http://host:port or https://host:port) into a gRPC target and TLS flag. */
export function parseCorndogsUrl(url: string): { target: string; tls: boolean } {
  const match = /^(?:(https?):\/\/)?([^/\s]+?)\/?$/.exec(url.trim());
  if (!match) throw new Error(`CORNDOGS_URL: ${JSON.stringify(url)} is not host:port, http://host:port or https://host:port`);
  const tls = match[1] === "https";
  const target = match[2]!;
  return { target: /:\d+$/.test(target) ? target : `${target}:${tls ? 443 : 5080}`, tls };
}

/** Typed Corndogs v1alpha1 client, for the coordinator (submit, cancel, counts, timeouts) and workers (claim, lease, complete). */
export class CorndogsClient {
  private readonly raw: grpc.Client;
  private readonly token: string | undefined;
  private readonly deadlineMs: number;
  private readonly events: grpc.Client;
  private readonly wakeListeners = new Set<(queue: string) => void>();
  private wakeStream: grpc.ClientReadableStream<TaskReady> | undefined;
  private wakeUnsupported = false;
  private closed = false;

  constructor(url: string, options: CorndogsClientOptions = {}) {
    const { target, tls } = parseCorndogsUrl(url);
    const credentials = tls || options.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    this.raw = new CorndogsService(target, credentials, {
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.enable_channelz": 0,
    });
    this.token = options.token;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.events = new TaskEventsService(target, credentials, { channelOverride: this.raw.getChannel() });
  }

  /** The server's TaskEvents as a WakeSource; the stream stays open between waits, so no event falls in a gap. */
  private readonly serverWake: WakeSource = (listener) => {
    this.wakeListeners.add(listener);
    this.openWakeStream();
    return () => this.wakeListeners.delete(listener);
  };

  private openWakeStream(): void {
    if (this.wakeStream || this.wakeUnsupported || this.closed) return;
    const request: WatchTasksRequest = { queues: [] };
    const method = (this.events as unknown as Record<string, Function>).WatchTasks!;
    const stream = method.call(this.events, request, bearerMetadata(this.token)) as grpc.ClientReadableStream<TaskReady>;
    this.wakeStream = stream;
    stream.on("data", (event: TaskReady) => {
      for (const listener of this.wakeListeners) listener(event.queue);
    });
    // Ended or failed: reopened by the next wait; polling covers the gap.
    stream.on("error", (error: grpc.ServiceError) => {
      if (error.code === grpc.status.UNIMPLEMENTED) this.wakeUnsupported = true;
    });
    stream.on("close", () => {
      if (this.wakeStream === stream) this.wakeStream = undefined;
    });
  }

  private call<K extends RpcName>(name: K, request: CorndogsRpcs[K][0]): Promise<CorndogsRpcs[K][1]> {
    const method = (this.raw as unknown as Record<string, Function>)[name]!;
    return new Promise((resolve, reject) => {
      method.call(
        this.raw,
        request,
        bearerMetadata(this.token),
        { deadline: Date.now() + this.deadlineMs },
        (error: grpc.ServiceError | null, response: CorndogsRpcs[K][1]) =>
          error ? reject(new CorndogsError(error.code, error.details || error.message)) : resolve(response),
      );
    });
  }

  async submitTask(input: SubmitTaskInput = {}): Promise<Task> {
    const response = await this.call("SubmitTask", {
      queue: input.queue ?? "",
      current_state: input.currentState ?? "",
      auto_target_state: input.autoTargetState ?? "",
      timeout: int64("timeout", input.timeout),
      payload: bytes(input.payload),
      priority: int64("priority", input.priority),
    });
    if (!response.task) throw new CorndogsError(grpc.status.INTERNAL, "SubmitTask returned no task");
    return fromWire(response.task);
  }

  /** Live or archived task; undefined when the uuid is unknown. */
  async getTaskStateById(uuid: string, queue = ""): Promise<Task | undefined> {
    return taskOf(await this.call("GetTaskStateByID", { uuid: checkUuid("uuid", uuid), queue }));
  }

  /** Claims the next task (undefined when none is waiting; never blocks). */
  async getNextTask(input: ClaimInput = {}): Promise<Task | undefined> {
    return taskOf(await this.call("GetNextTask", claimRequest(input)));
  }

  /**
   * Opens a StreamTasks stream (our addition to the protocol): the server pushes tasks claimed as
   * getNextTask claims them, as many as `next()` calls ask for, and `complete()` completes them on
   * the same stream (see TaskStream). No deadline: it lives until closed.
   */
  openTaskStream(input: ClaimInput = {}): TaskStream {
    const method = (this.raw as unknown as Record<string, Function>).StreamTasks!;
    const call = method.call(this.raw, bearerMetadata(this.token)) as ConstructorParameters<typeof TaskStream>[0];
    // Put back as a timeout would: the two states swapped back, no timeout.
    const putBack = (t: Task) =>
      this.updateTask({ uuid: t.uuid, currentState: t.currentState, newState: t.autoTargetState, autoTargetState: t.currentState, priority: t.priority });
    return new TaskStream(call, claimRequest(input), putBack);
  }

  async updateTask(input: UpdateTaskInput): Promise<Task | undefined> {
    return taskOf(
      await this.call("UpdateTask", {
        uuid: checkUuid("uuid", input.uuid),
        queue: input.queue ?? "",
        current_state: input.currentState ?? "",
        auto_target_state: input.autoTargetState ?? "",
        timeout: int64("timeout", input.timeout),
        new_state: input.newState ?? "",
        payload: bytes(input.payload),
        priority: int64("priority", input.priority),
      }),
    );
  }

  /** Archives the task as `completed`; undefined when the uuid is unknown. */
  async completeTask(input: FinishTaskInput): Promise<Task | undefined> {
    return taskOf(await this.call("CompleteTask", this.finish(input)));
  }

  /** Archives the task as `canceled`; undefined when the uuid is unknown. */
  async cancelTask(input: FinishTaskInput): Promise<Task | undefined> {
    return taskOf(await this.call("CancelTask", this.finish(input)));
  }

  private finish(input: FinishTaskInput) {
    return { uuid: checkUuid("uuid", input.uuid), queue: input.queue ?? "", current_state: input.currentState ?? "" };
  }

  /** Swaps back every task whose timeout expired before `atTime` (default now, Unix ns); returns how many. */
  async cleanUpTimedOut(options: { atTime?: bigint; queue?: string } = {}): Promise<bigint> {
    const response = await this.call("CleanUpTimedOut", {
      at_time: int64("at_time", options.atTime ?? nowNs()),
      queue: options.queue ?? "",
    });
    return BigInt(response.timed_out);
  }

  async getQueues(): Promise<{ queues: string[]; totalTaskCount: bigint }> {
    const r = await this.call("GetQueues", {});
    return { queues: r.queues, totalTaskCount: BigInt(r.total_task_count) };
  }

  async getQueueTaskCounts(): Promise<{ queueCounts: Record<string, bigint>; totalTaskCount: bigint }> {
    const r = await this.call("GetQueueTaskCounts", {});
    return { queueCounts: counts(r.queue_counts), totalTaskCount: BigInt(r.total_task_count) };
  }

  async getTaskStateCounts(queue = ""): Promise<{ queue: string } & QueueCounts> {
    const r = await this.call("GetTaskStateCounts", { queue });
    return { queue: r.queue, count: BigInt(r.count), states: counts(r.state_counts) };
  }

  async getQueueAndStateCounts(): Promise<Record<string, QueueCounts>> {
    const r = await this.call("GetQueueAndStateCounts", {});
    return Object.fromEntries(
      Object.entries(r.queue_and_state_counts).map(([q, c]) => [q, { count: BigInt(c.count), states: counts(c.state_counts) }]),
    );
  }

  /**
   * Claims the next task, waiting for one: polls with a pause from minDelayMs doubling up to
   * maxDelayMs, so an idle worker costs a few queries a second. A wake-up (in-process, or the
   * server's TaskEvents stream) polls at once without restarting that schedule: a new task is
   * seen at once, and idle workers that lose the race for it do not speed up. Rejects with the
   * signal's reason when aborted.
   */
  async waitForTask(input: ClaimInput = {}, options: WaitOptions = {}): Promise<Task> {
    const min = options.minDelayMs ?? 5;
    const max = Math.max(min, options.maxDelayMs ?? 500);
    const queue = input.queue || "default";
    let delay = min;
    let woken = false;
    let wakeUp: (() => void) | undefined;
    const wake = options.wake ?? (options.serverWake === false ? undefined : this.serverWake);
    const unsubscribe = wake?.((q) => {
      // "" is the server's "watch is live" hello: a task may have slipped in before it.
      if (q !== queue && q !== "") return;
      woken = true;
      wakeUp?.();
    });
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        if (wake === this.serverWake) this.openWakeStream();
        woken = false;
        try {
          const task = await this.getNextTask(input);
          if (task) return task;
        } catch (error) {
          // The queue restarting is not the worker's failure: keep waiting at the slowest pace.
          if (!(error instanceof CorndogsError && error.code === grpc.status.UNAVAILABLE)) throw error;
          delay = max;
        }
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            options.signal?.removeEventListener("abort", done);
            wakeUp = undefined;
            resolve();
          };
          const timer = setTimeout(done, delay);
          options.signal?.addEventListener("abort", done, { once: true });
          wakeUp = done;
        });
        delay = Math.min(max, delay * 2);
      }
    } finally {
      unsubscribe?.();
    }
  }

  close(): void {
    this.closed = true;
    this.wakeStream?.cancel();
    this.events.close();
    this.raw.close();
  }
}
