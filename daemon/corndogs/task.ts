import type { WireTask } from "./wire.ts";

/** A Corndogs task; every int64 as bigint (times are Unix nanoseconds, beyond 2^53). */
export interface Task {
  uuid: string;
  queue: string;
  currentState: string;
  autoTargetState: string;
  submitTime: bigint;
  updateTime: bigint;
  /** Seconds; 0 means none. */
  timeout: bigint;
  payload: Buffer;
  priority: bigint;
}

export function fromWire(t: WireTask): Task {
  return {
    uuid: t.uuid,
    queue: t.queue,
    currentState: t.current_state,
    autoTargetState: t.auto_target_state,
    submitTime: BigInt(t.submit_time),
    updateTime: BigInt(t.update_time),
    timeout: BigInt(t.timeout),
    payload: t.payload,
    priority: BigInt(t.priority),
  };
}
