/**
 * The kubernetes runtime's operator settings from `--kube-*` flags (and KUBECONFIG), checked
 * before anything starts: each error names its flag and what it allows.
 */
import { KubeConfig, type V1Toleration } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import type { KubernetesRuntimeOptions } from "./kubernetes.ts";

export const kubernetesArgs = {
  kubeconfig: { type: "string", description: "kubernetes runtime: kubeconfig file (default: in-cluster, else $KUBECONFIG, else ~/.kube/config)" },
  "kube-namespace": { type: "string", description: "kubernetes runtime: namespace of the job Jobs", default: "reactorcide-jobs" },
  "kube-service-account": { type: "string", description: "kubernetes runtime: ServiceAccount of job pods (its token is never mounted)", default: "reactorcide-job" },
  "kube-node-selector": { type: "string", description: "kubernetes runtime: node labels job pods need, k=v[,k=v]" },
  "kube-tolerations": { type: "string", description: "kubernetes runtime: taints job pods tolerate, key[=value][:Effect][,...] or a JSON array of tolerations" },
  "kube-priority-class": { type: "string", description: "kubernetes runtime: priorityClassName of job pods" },
  "kube-image-pull-secret": { type: "string", description: "kubernetes runtime: imagePullSecret of job pods" },
  "kube-start-timeout": { type: "string", description: "kubernetes runtime: seconds a job pod may take to start", default: "300" },
  "kube-workspace-size": { type: "string", description: "kubernetes runtime: size limit of the /job emptyDir", default: "10Gi" },
} as const;

export type KubernetesArgValues = { [K in keyof typeof kubernetesArgs]?: string | boolean };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

function str(value: string | boolean | undefined): string {
  return typeof value === "string" ? value.trim() : "";
}

export function parseNodeSelector(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    const key = eq > 0 ? pair.slice(0, eq) : "";
    const value = eq > 0 ? pair.slice(eq + 1) : "";
    if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) throw new Error(`--kube-node-selector: "${pair}" is not key=value with a Kubernetes label key and value`);
    out[key] = value;
  }
  return out;
}

export function parseTolerations(raw: string): V1Toleration[] {
  if (!raw) return [];
  if (raw.startsWith("[")) {
    let list: unknown;
    try {
      list = JSON.parse(raw);
    } catch {
      throw new Error("--kube-tolerations: not valid JSON");
    }
    if (!Array.isArray(list) || !list.every((t) => t && typeof t === "object" && (t.key === undefined || typeof t.key === "string"))) {
      throw new Error("--kube-tolerations: a JSON value must be an array of tolerations ({key, operator, value, effect})");
    }
    for (const t of list as V1Toleration[]) if (t.effect && !EFFECTS.includes(t.effect)) throw new Error(`--kube-tolerations: effect "${t.effect}" is not one of ${EFFECTS.join(", ")}`);
    return list as V1Toleration[];
  }
  return raw.split(",").map((item) => {
    const m = /^([^=:\s]+)(?:=([^:\s]*))?(?::([A-Za-z]+))?$/.exec(item.trim());
    if (!m || !LABEL_KEY.test(m[1]!)) throw new Error(`--kube-tolerations: "${item}" is not key[=value][:Effect]`);
    if (m[3] && !EFFECTS.includes(m[3])) throw new Error(`--kube-tolerations: effect "${m[3]}" is not one of ${EFFECTS.join(", ")}`);
    const t: V1Toleration = { key: m[1], operator: m[2] === undefined ? "Exists" : "Equal" };
    if (m[2] !== undefined) t.value = m[2];
    if (m[3]) t.effect = m[3];
    return t;
  });
}

/** In-cluster when the pod's ServiceAccount is there, else the kubeconfig flag, KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(flag: string, env: Record<string, string | undefined>): KubeConfig {
  const kc = new KubeConfig();
  const file = flag || env.KUBECONFIG?.split(":")[0] || "";
  if (flag) {
    if (!existsSync(flag)) throw new Error(`--kubeconfig: ${flag} does not exist`);
    kc.loadFromFile(flag);
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")) {
    kc.loadFromCluster();
  } else if (file || existsSync(join(homedir(), ".kube", "config"))) {
    const path = file || join(homedir(), ".kube", "config");
    if (!existsSync(path)) throw new Error(`KUBECONFIG: ${path} does not exist`);
    kc.loadFromFile(path);
  } else {
    throw new Error("--kubeconfig: not running in a cluster and no kubeconfig found (give --kubeconfig FILE or set KUBECONFIG)");
  }
  if (!kc.getCurrentCluster()) throw new Error(`--kubeconfig: ${file || "the configuration"} has no current cluster`);
  return kc;
}

/** The runtime's options from the flags; `kubeConfig` is loaded here so a bad file stops the start. */
export function kubernetesOptions(args: KubernetesArgValues, env: Record<string, string | undefined>): KubernetesRuntimeOptions {
  const namespace = str(args["kube-namespace"]) || "reactorcide-jobs";
  if (!DNS_LABEL.test(namespace)) throw new Error(`--kube-namespace: "${namespace}" is not a namespace name (lower case letters, digits and -, at most 63)`);
  const serviceAccount = str(args["kube-service-account"]) || "reactorcide-job";
  if (!DNS_SUBDOMAIN.test(serviceAccount)) throw new Error(`--kube-service-account: "${serviceAccount}" is not a ServiceAccount name`);
  const priorityClass = str(args["kube-priority-class"]) || undefined;
  if (priorityClass && !DNS_SUBDOMAIN.test(priorityClass)) throw new Error(`--kube-priority-class: "${priorityClass}" is not a PriorityClass name`);
  const imagePullSecret = str(args["kube-image-pull-secret"]) || undefined;
  if (imagePullSecret && !DNS_SUBDOMAIN.test(imagePullSecret)) throw new Error(`--kube-image-pull-secret: "${imagePullSecret}" is not a Secret name`);
  const startRaw = str(args["kube-start-timeout"]) || "300";
  const startTimeoutSeconds = Number(startRaw);
  if (!Number.isInteger(startTimeoutSeconds) || startTimeoutSeconds < 1) throw new Error(`--kube-start-timeout: "${startRaw}" is not a whole number of seconds of at least 1`);
  const workspaceSize = str(args["kube-workspace-size"]) || "10Gi";
  if (!QUANTITY.test(workspaceSize)) throw new Error(`--kube-workspace-size: "${workspaceSize}" is not a size (e.g. 10Gi, 500Mi)`);
  return {
    kubeConfig: loadKubeConfig(str(args.kubeconfig), env),
    namespace,
    serviceAccount,
    nodeSelector: parseNodeSelector(str(args["kube-node-selector"])),
    tolerations: parseTolerations(str(args["kube-tolerations"])),
    priorityClass,
    imagePullSecret,
    startTimeoutSeconds,
    workspaceSize,
    tmpSize: "256Mi",
    ttlSecondsAfterFinished: 600,
    // The pod name in a cluster: stable across the worker container's restarts.
    worker: env.REACTORCIDE_WORKER_NAME || hostname(),
  };
}
