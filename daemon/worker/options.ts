/**
 * The worker's command-line options, shared by `reactorcide worker` and `reactorcide serve`
 * (which runs a worker beside the coordinator), and their conversion into settings.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { DEFAULT_IMAGE } from "../../runner/protocol/index.ts";
import { kubernetesArgs, kubernetesOptions } from "./runtimes/kubernetes/options.ts";
import type { KubernetesRuntimeOptions } from "./runtimes/kubernetes/kubernetes.ts";
import { RUNTIME_NAMES } from "./runtimes/select.ts";
import { defaultSettings, parseMemory, type WorkerSettings } from "./settings.ts";

export const workerArgs = {
  concurrency: { type: "string", description: "Job slots: jobs this worker runs at once [REACTORCIDE_WORKER_CONCURRENCY]" },
  runtime: { type: "string", description: `Where jobs run: ${RUNTIME_NAMES.join(", ")} [REACTORCIDE_WORKER_RUNTIME]` },
  "runner-path": { type: "string", description: "Host reactorcide-runner for --runtime process [REACTORCIDE_RUNNER_PATH]" },
  "workspace-root": { type: "string", description: "Where job workspaces are made [REACTORCIDE_WORKSPACE_ROOT]" },
  "keep-workspace": { type: "boolean", description: "Keep each job's workspace after it ends (debugging)", default: false },
  "default-image": { type: "string", description: "Image for jobs that name none [REACTORCIDE_DEFAULT_IMAGE]" },
  "grace-period": { type: "string", description: "Seconds between stop and kill on timeout or cancel", default: "10" },
  "lease-seconds": { type: "string", description: "Queue lease; a dead worker's jobs come back after it", default: "30" },
  "read-only-root": { type: "boolean", description: "Run job containers with a read-only root and a tmpfs /tmp", default: false },
  memory: { type: "string", description: "Default memory limit per job (e.g. 2g)", default: "2g" },
  cpus: { type: "string", description: "Default CPU limit per job", default: "2" },
  pids: { type: "string", description: "Default process limit per job", default: "1024" },
  "job-coordinator-url": {
    type: "string",
    description:
      "The coordinator's address as jobs reach it, handed to each job with a job token for its triggers (https, or http on loopback or the container bridge); default: the worker's own coordinator URL for the process runtime or an https one [REACTORCIDE_JOB_COORDINATOR_URL]",
  },
  "allowed-images": {
    type: "string",
    description: "Comma-separated image patterns jobs may name besides the default image (e.g. reactorcide/*,busybox:*); default: any [REACTORCIDE_WORKER_ALLOWED_IMAGES]",
  },
  ...kubernetesArgs,
} as const;

export type WorkerArgValues = { [K in keyof typeof workerArgs]?: string | boolean };

export interface WorkerConfig {
  concurrency: number;
  runtime: string;
  runnerPath: string;
  leaseSeconds: number;
  settings: WorkerSettings;
  /** For `--runtime kubernetes`: the cluster and the operator's settings for job pods. */
  kubernetes?: KubernetesRuntimeOptions;
}

function positive(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (!raw.trim() || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name}: "${raw}" is not a positive ${integer ? "whole number" : "number"}`);
  }
  return value;
}

/** Flags over REACTORCIDE_* environment over defaults; errors name the flag. */
export function workerConfig(args: WorkerArgValues, env: Record<string, string | undefined>, dataDir: string): WorkerConfig {
  const pick = (flag: keyof typeof workerArgs, envName: string, fallback: string) => {
    const value = args[flag];
    return typeof value === "string" && value !== "" ? value : env[envName] || fallback;
  };
  const runtime = pick("runtime", "REACTORCIDE_WORKER_RUNTIME", "docker");
  if (!(RUNTIME_NAMES as readonly string[]).includes(runtime)) throw new Error(`--runtime: "${runtime}" is not a runtime; allowed: ${RUNTIME_NAMES.join(", ")}`);
  const settings = defaultSettings({
    workerId: `${hostname()}-${process.pid}-${crypto.randomUUID().slice(0, 6)}`,
    workspaceRoot: pick("workspace-root", "REACTORCIDE_WORKSPACE_ROOT", join(dataDir, "workspaces")),
    defaultImage: pick("default-image", "REACTORCIDE_DEFAULT_IMAGE", DEFAULT_IMAGE),
    gracePeriod: positive("grace-period", String(args["grace-period"] ?? "10"), false),
    keepWorkspace: args["keep-workspace"] === true,
    readOnlyRoot: args["read-only-root"] === true,
    jobCoordinatorUrl: pick("job-coordinator-url", "REACTORCIDE_JOB_COORDINATOR_URL", "") || null,
    allowedImages: pick("allowed-images", "REACTORCIDE_WORKER_ALLOWED_IMAGES", "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
    limits: {
      memoryBytes: parseMemory(String(args.memory ?? "2g"), "--memory"),
      cpus: positive("cpus", String(args.cpus ?? "2"), false),
      pids: positive("pids", String(args.pids ?? "1024"), true),
    },
  });
  return {
    ...(runtime === "kubernetes" ? { kubernetes: kubernetesOptions(args, env) } : {}),
    concurrency: positive("concurrency", pick("concurrency", "REACTORCIDE_WORKER_CONCURRENCY", "2"), true),
    runtime,
    runnerPath: pick("runner-path", "REACTORCIDE_RUNNER_PATH", ""),
    leaseSeconds: positive("lease-seconds", String(args["lease-seconds"] ?? "30"), true),
    settings,
  };
}
