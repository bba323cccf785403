/**
 * What the worker needs from the coordinator, whether it runs in the same process (`serve`) or
 * across the network (`reactorcide worker --coordinator URL`). Implementations: http-coordinator.ts.
 */
import type { Job, JobStatus, JobStepResult, TerminalStatus } from "../../runner/protocol/index.ts";
import type { TriggerPayload } from "../../runner/protocol/trigger.ts";
import type { LogBatch } from "../../runner/protocol/worker-api.ts";
import type { ShippedChunk } from "./logs/shipper.ts";

/** A job as the worker reads it: the contract's job, exactly as the API returns it. */
export type WorkerJob = Job;
export type { JobStatus, TerminalStatus };

export interface FinishReport {
  status: TerminalStatus;
  exitCode: number | null;
  reason: string;
  /** A job of steps: what the runner's steps.json says of each (masked). */
  stepResults?: JobStepResult[];
}

/** What became of triggers the worker found (triggers.json, stdout lines). */
export type TriggerSubmission = { created: string[]; duplicates: number } | { refused: string };

/** A job token for the running job (its trigger route and its own job only, until it ends). */
export interface JobAccess {
  token: string;
}

/** What the worker asks for when it takes a job. */
export interface StartRequest {
  workerId: string;
  /** The worker's default image: recorded as the job's image when the job names none. */
  image: string;
  /** Also issue a job token (only when the job gets an address of the coordinator). */
  token: boolean;
}

/**
 * The answer to start: the job is this worker's now, with what it needs to run it; or it was not
 * queued (cancelled, taken, or left running by a worker that died); or it is gone.
 */
export type StartAnswer =
  | {
      kind: "started";
      /** As the worker sees it: secret_env values whole. */
      job: WorkerJob;
      /** Secret values to inject, by env name; resolved at run time, never stored in the queue. */
      secrets: Record<string, string>;
      /** Why the secrets could not be read; the job must end with it. */
      secretsError?: string;
      /** The job token, when asked for. */
      access?: JobAccess;
    }
  | { kind: "not_queued" }
  | { kind: "gone" };

export interface WorkerInfo {
  id: string;
  name: string;
  capacity: number;
  running: number;
  runtime: string;
}

export interface Coordinator {
  getJob(jobId: string): Promise<WorkerJob | null>;
  /**
   * queued → running for this worker, recording the image it runs the job in, answered with the
   * job, its secrets and (when asked) a job token: one round trip.
   */
  start(jobId: string, request: StartRequest): Promise<StartAnswer>;
  /**
   * Stores a chunk of masked lines (runner/protocol/log-chunk.ts). Its `offset` (lines of this job
   * shipped before it, by the worker's count) makes sending the same chunk again store nothing twice.
   */
  appendLogChunk(jobId: string, chunk: ShippedChunk): Promise<void>;
  /** Appends a few lines of the worker's own after the job's others (no offset: e.g. why a dead run ended). */
  appendLogs(jobId: string, lines: LogBatch["lines"]): Promise<void>;
  /** running → terminal; false when the job was already terminal (e.g. cancelled meanwhile). */
  finish(jobId: string, report: FinishReport): Promise<boolean>;
  /** Follow-up jobs the job asked for; de-duplicated by the coordinator per operation_id and job name. */
  submitTriggers(jobId: string, via: "file" | "stdout", payload: TriggerPayload): Promise<TriggerSubmission>;
  /** Registers or refreshes this worker (workers table: seen, running jobs, capacity). */
  heartbeat(info: WorkerInfo): Promise<void>;
}
