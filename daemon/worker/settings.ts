import { cpus, totalmem } from "node:os";
import { DEFAULT_IMAGE } from "../../runner/protocol/index.ts";
import type { Limits } from "./runtimes/runtime.ts";

/** How one worker runs jobs; project and job values override the limits. */
export interface WorkerSettings {
  workerId: string;
  /** Jobs get `<workspaceRoot>/<jobId>/` as /job. */
  workspaceRoot: string;
  /** Image when the job names none (the runner image). */
  defaultImage: string;
  /** Seconds a job may run when it names no timeout. */
  defaultTimeout: number;
  /** Seconds between the polite stop and the kill. */
  gracePeriod: number;
  limits: Limits;
  /** The most a job may ask for; a job asking more is refused (e.g. pids 1000000 would let a fork bomb run). */
  maxLimits: Limits;
  readOnlyRoot: boolean;
  keepWorkspace: boolean;
  /** How often a running job's status is checked for a cancel. */
  cancelPollMs: number;
  /** First retry delay for infrastructure errors; doubles each time. */
  retryBaseMs: number;
  /** Most of a job's output kept in its log (characters); past it the rest is dropped with a note. */
  maxLogBytes: number;
  /** uid:gid that owns the workspace (the container user), when the worker runs as root. */
  workspaceOwner: { uid: number; gid: number } | null;
  /**
   * The coordinator's address as a job reaches it (REACTORCIDE_COORDINATOR_URL, with a job token):
   * null gives jobs no address, and their triggers come by triggers.json and stdout lines only.
   */
  jobCoordinatorUrl: string | null;
  /**
   * Images a job may name (glob patterns, `reactorcide/*`, `busybox:*`), besides the default image;
   * empty: any. A job (a trigger's container_image among them) naming another is refused.
   */
  allowedImages: string[];
}

export function defaultSettings(overrides: Partial<WorkerSettings> & Pick<WorkerSettings, "workerId" | "workspaceRoot">): WorkerSettings {
  return {
    defaultImage: DEFAULT_IMAGE,
    defaultTimeout: 3600,
    gracePeriod: 10,
    limits: { memoryBytes: 2 * 2 ** 30, cpus: 2, pids: 1024 },
    maxLimits: { memoryBytes: totalmem(), cpus: cpus().length, pids: 32768 },
    readOnlyRoot: false,
    keepWorkspace: false,
    cancelPollMs: 1000,
    retryBaseMs: 1000,
    maxLogBytes: 100 * 2 ** 20,
    workspaceOwner: process.getuid?.() === 0 ? { uid: 1001, gid: 1001 } : null,
    jobCoordinatorUrl: null,
    allowedImages: [],
    ...overrides,
  };
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** "512m" → bytes, as Docker reads sizes; an error names the field and the format. */
export function parseMemory(value: string, field = "resources.memory"): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([bkmg]?)$/i.exec(value.trim());
  if (!match) throw new Error(`${field}: "${value}" is not a size; use bytes or a number with b, k, m or g (e.g. 512m)`);
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
  if (bytes < 6 * 2 ** 20) throw new Error(`${field}: "${value}" is below the 6m minimum a container can start with`);
  return bytes;
}
