import type { WorkerSettings } from "../settings.ts";
import { CONTAINER_CLIS, DockerRuntime, type ContainerCli } from "./docker.ts";
import { HostWorkspaces } from "./host-workspace.ts";
import { KubernetesRuntime, type KubernetesRuntimeOptions } from "./kubernetes/kubernetes.ts";
import { ProcessRuntime } from "./process.ts";
import type { Runtime } from "./runtime.ts";

export const RUNTIME_NAMES = [...CONTAINER_CLIS, "process", "kubernetes"] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export interface RuntimeChoice {
  runtime: string;
  /** For `process`: the host runner executable. */
  runnerPath?: string;
  user?: string;
  /** For `kubernetes`: the cluster and the settings for job pods (--kube-* flags). */
  kubernetes?: KubernetesRuntimeOptions;
}

/** The host workspaces the worker's settings describe (root, owner, --keep-workspace). */
export function hostWorkspaces(settings: Pick<WorkerSettings, "workspaceRoot" | "workspaceOwner" | "keepWorkspace">): HostWorkspaces {
  return new HostWorkspaces({ root: settings.workspaceRoot, owner: settings.workspaceOwner, keep: settings.keepWorkspace });
}

/** The runtime `--runtime` names, or an error naming the flag and what it allows. */
export function selectRuntime(choice: RuntimeChoice, settings: WorkerSettings): Runtime {
  if (choice.runtime === "process") {
    if (!choice.runnerPath) throw new Error("--runner-path: the process runtime needs the host reactorcide-runner executable");
    return new ProcessRuntime({ runnerPath: choice.runnerPath, workspaces: hostWorkspaces(settings) });
  }
  if (choice.runtime === "kubernetes") {
    if (!choice.kubernetes) throw new Error("--runtime kubernetes: no cluster configuration (--kubeconfig)");
    return new KubernetesRuntime(choice.kubernetes);
  }
  if ((CONTAINER_CLIS as readonly string[]).includes(choice.runtime)) {
    return new DockerRuntime({ cli: choice.runtime as ContainerCli, user: choice.user, workspaces: hostWorkspaces(settings) });
  }
  throw new Error(`--runtime: "${choice.runtime}" is not a runtime; allowed: ${RUNTIME_NAMES.join(", ")}`);
}
