/**
 * What every worker runtime offers: start one job's runner (in a container, as a host process, or
 * as a Kubernetes Job), stream its output, stop it, and say how it ended. The runtime owns
 * everything of the job it makes — the workspace seen as /job, how the job's variables and secrets
 * reach the runner (a private file on the host, a Kubernetes Secret), the container or Job — and
 * removes all of it when the job ends, when `remove` is called, or at start through `leftovers`.
 */

import type { StepsReport } from "../../../runner/protocol/step-result.ts";
import type { TriggerPayload } from "../../../runner/protocol/trigger.ts";

/** Resource ceilings for one job; absent fields fall back to the worker's defaults. */
export interface Limits {
  /** Bytes of memory (swap is capped to the same, so the limit is real). */
  memoryBytes: number;
  /** CPUs, fractional allowed (e.g. 0.5). */
  cpus: number;
  /** Processes and threads the job may have at once. */
  pids: number;
}

export interface RunSpec {
  /** Job id; names the container (`reactorcide-job-<id>`) so a restarted worker can find it. */
  jobId: string;
  /** Image for container runtimes; ignored by the process runtime. */
  image: string;
  /** The command inside the job environment, e.g. ["reactorcide-runner", "run"]. */
  argv: string[];
  /**
   * The runner's settings (REACTORCIDE_*): names, sources, never a secret value. They may be seen
   * by whoever reads the container or Job (docker inspect, kubectl get job).
   */
  env: Record<string, string>;
  /**
   * The job's own variables and its secrets, which the runner hands to the job's command. The
   * runtime delivers them privately (a 0600 file in the host workspace, a Secret the pod reads)
   * and points REACTORCIDE_JOB_ENV at them; never on a command line or in a container's spec.
   */
  jobEnv: Record<string, string>;
  limits: Limits;
  /** Seconds the job may run; the worker stops it then. A runtime with its own deadline (a Job's activeDeadlineSeconds) sets it a grace period later, as a backstop. */
  timeoutSeconds: number;
  /** Seconds between the polite stop and the kill. */
  graceSeconds: number;
  /** `none` cuts the job off every network. */
  network: "default" | "none";
  /** Read-only root file system with a tmpfs /tmp. */
  readOnlyRoot: boolean;
  /** The job runs source nobody vetted (e.g. a fork's pull request). */
  untrusted: boolean;
}

/** What the job left in /job/triggers.json, read before its workspace is removed. */
export type FoundTriggers = { payload: TriggerPayload | null } | { error: string };
/** What the runner left in /job/steps.json (a job of steps), read before its workspace is removed. */
export type FoundSteps = { report: StepsReport | null } | { error: string };
/** The files a job leaves for the worker in its workspace. */
export interface LeftInWorkspace {
  triggers: FoundTriggers;
  steps: FoundSteps;
}

/** How a job's process ended. */
export interface Exit {
  /** Exit status; 128+N when killed by signal N (137 for SIGKILL). */
  code: number;
  /** The kernel killed it for exceeding its memory limit. */
  oomKilled: boolean;
  /** The runtime's own deadline ended it (a Kubernetes Job's DeadlineExceeded), not the worker's timer. */
  deadlineExceeded?: boolean;
  /**
   * The job's triggers file, from runtimes that can read its workspace (docker, podman, nerdctl,
   * process). Absent where they cannot (Kubernetes): there stdout trigger lines carry them.
   */
  triggers?: FoundTriggers;
  /** The runner's steps report, from the same runtimes (Kubernetes jobs have no step results). */
  steps?: FoundSteps;
}

export interface RunningJob {
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /**
   * Settles when the job is gone, whatever ended it (its processes can write nothing more), with
   * what it left in its workspace read; what the runtime made for it is removed then or after.
   */
  readonly exited: Promise<Exit>;
  /**
   * When what the runtime made for the job (container, workspace, env files) is removed after
   * `exited`: settles once it is gone, never rejects. The worker reports the job's end first and
   * keeps the slot until this settles; a kill -9 in between is the `leftovers` case.
   */
  readonly removed?: Promise<void>;
  /** SIGTERM, then SIGKILL once `graceSeconds` have passed; resolves when it has been asked. */
  stop(graceSeconds: number): Promise<void>;
}

export interface Runtime {
  /** e.g. "docker", "podman", "process". */
  readonly name: string;
  /** Throws InfrastructureError when the runtime cannot run `spec` at all (daemon down, image missing). */
  preflight(spec: RunSpec): Promise<void>;
  start(spec: RunSpec): Promise<RunningJob>;
  /**
   * Removes everything left of a job (a crashed worker's container or Job, its workspace, env
   * files, Secret). Never throws for "nothing there".
   */
  remove(jobId: string): Promise<void>;
  /**
   * Ids of jobs that earlier runs of this worker left something of (after a crash or kill -9); the
   * worker calls `remove` for each before it takes jobs. Those jobs' tasks come back to the queue
   * when their leases run out, and the worker that takes one ends it `error`.
   */
  leftovers(): Promise<string[]>;
}

/**
 * The job could not run for reasons that are not the job's fault (runtime down, image missing).
 * The job ends `error` with this message and may be retried.
 */
export class InfrastructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InfrastructureError";
  }
}

/** A job refused by policy (e.g. untrusted source on the process runtime). Never retried. */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}
