/**
 * What the worker needs from the coordinator, whether it runs in the same process (`serve`) or
 * across the network (`reactorcide worker --coordinator URL`). Implementations: http-coordinator.ts.
 */
import type { LogLine } from "./logs/shipper.ts";

export const TERMINAL_STATUSES = ["success", "failure", "error", "cancelled", "timed_out"] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export type JobStatus = "queued" | "running" | TerminalStatus;

export interface WorkerSource {
  type: string;
  url?: string;
  ref?: string;
}

/** A job as the worker sees it. */
export interface WorkerJob {
  id: string;
  name: string;
  status: JobStatus;
  image: string | null;
  command: string | null;
  env: Record<string, string>;
  source: WorkerSource | null;
  ciSource: WorkerSource | null;
  /** Seconds; null means the worker's default. */
  timeout: number | null;
  resources: { cpu?: number; memory?: string; pids?: number } | null;
  /** Source nobody vetted (fork pull request): never on the process runtime. */
  untrusted: boolean;
  /** Cut the job off every network. */
  networkNone: boolean;
  /** How many times an infrastructure error may be retried. */
  retries: number;
}

export interface FinishReport {
  status: TerminalStatus;
  exitCode: number | null;
  reason: string;
}

export interface WorkerInfo {
  id: string;
  name: string;
  capacity: number;
  running: number;
  runtime: string;
}

export interface Coordinator {
  getJob(jobId: string): Promise<WorkerJob | null>;
  /** queued → running for this worker; false when the job is not queued any more (cancelled, taken). */
  start(jobId: string, workerId: string): Promise<boolean>;
  /** Secret values to inject, by env name; resolved at run time, never stored in the queue. */
  secrets(jobId: string): Promise<Record<string, string>>;
  appendLogs(jobId: string, lines: LogLine[]): Promise<void>;
  /** running → terminal; false when the job was already terminal (e.g. cancelled meanwhile). */
  finish(jobId: string, report: FinishReport): Promise<boolean>;
  /** Registers or refreshes this worker (workers table: seen, running jobs, capacity). */
  heartbeat(info: WorkerInfo): Promise<void>;
}
