/**
 * The Kubernetes objects of one CI job: a Secret with its env and secrets (owned by the Job, so
 * Kubernetes removes it with the Job) and a hardened batch/v1 Job that runs `reactorcide-runner run`
 * as the Docker runtime does, with the workspace an emptyDir at /job.
 */
import type { V1Job, V1Secret, V1Toleration } from "@kubernetes/client-node";
import { JOB_ENV_FILE, RUNNER_ENV } from "../../../../runner/protocol/index.ts";
import { RefusedError, type RunSpec } from "../runtime.ts";
import { jobEnvFileText } from "../host-workspace.ts";

export const JOB_ID_LABEL = "reactorcide.io/job-id";
export const WORKER_LABEL = "reactorcide.io/worker";
/** Jobs that asked for `network: none`; a NetworkPolicy selecting this label denies them all traffic (k8s/). */
export const NETWORK_LABEL = "reactorcide.io/network";
export const CONTAINER_NAME = "job";
export const JOB_ENV_KEY = JOB_ENV_FILE;
/** The job user of the runner image; never root. */
export const JOB_UID = 1001;
/**
 * The job's variables reach the runner as one environment variable read from the Secret; Linux
 * refuses a single environment string longer than this (MAX_ARG_STRLEN).
 */
export const MAX_JOB_ENV_BYTES = 131_072 - `${RUNNER_ENV.jobEnv}=`.length - 1;

/** Operator settings (flags), never a job's. */
export interface KubernetesJobSettings {
  namespace: string;
  serviceAccount: string;
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
  priorityClass?: string;
  imagePullSecret?: string;
  /** emptyDir size limit of /job. */
  workspaceSize: string;
  /** emptyDir size limit of /tmp when the root is read-only. */
  tmpSize: string;
  /** Seconds a finished Job is kept (if the worker could not delete it). */
  ttlSecondsAfterFinished: number;
  /** Label value naming this worker, stable across its restarts. */
  worker: string;
}

/** A DNS-1123 label from any text: lower case, [a-z0-9-], at most `max`, starting and ending alphanumeric. */
export function dnsLabel(text: string, max = 63): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, max).replace(/^-+|-+$/g, "");
  return cleaned || "x";
}

/** A label value: at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "") || "x";
}

/**
 * The Job's name: the job id and a suffix per attempt (an earlier attempt's Job may still be going
 * away). At most 59 characters, so the Secret's `<job>-env` stays within the 63 a Job's pods allow.
 */
export function jobObjectName(jobId: string, attempt: string = crypto.randomUUID().slice(0, 4)): string {
  return `${dnsLabel(`reactorcide-${jobId}`, 54)}-${dnsLabel(attempt, 4)}`;
}

export const secretNameOf = (jobName: string) => `${jobName}-env`;

export function labelsFor(jobId: string, settings: Pick<KubernetesJobSettings, "worker">): Record<string, string> {
  return { [JOB_ID_LABEL]: labelValue(jobId), [WORKER_LABEL]: labelValue(settings.worker), "app.kubernetes.io/managed-by": "reactorcide" };
}

/** The Secret holding the job's env and secrets as the runner's inline REACTORCIDE_JOB_ENV text. */
export function buildSecret(spec: RunSpec, settings: KubernetesJobSettings, owner: { name: string; uid: string }): V1Secret {
  return { ...secretContent(spec), metadata: { name: secretNameOf(owner.name), namespace: settings.namespace, labels: labelsFor(spec.jobId, settings), ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: owner.name, uid: owner.uid }] } };
}

/** The Secret's content; throws RefusedError when the job's variables cannot be carried. */
export function secretContent(spec: RunSpec): Omit<V1Secret, "metadata"> {
  const text = jobEnvFileText(spec.jobEnv);
  if (Buffer.byteLength(text) > MAX_JOB_ENV_BYTES) {
    throw new RefusedError(`env: the job's variables and secrets take ${Buffer.byteLength(text)} bytes; the kubernetes runtime passes at most ${MAX_JOB_ENV_BYTES}`);
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    immutable: true,
    data: { [JOB_ENV_KEY]: Buffer.from(text).toString("base64") },
  };
}

const cpuQuantity = (cpus: number) => `${Math.max(1, Math.round(cpus * 1000))}m`;

export function buildJob(spec: RunSpec, settings: KubernetesJobSettings, name: string = jobObjectName(spec.jobId)): V1Job {
  const labels = { ...labelsFor(spec.jobId, settings), ...(spec.network === "none" ? { [NETWORK_LABEL]: "none" } : {}) };
  const resources = { cpu: cpuQuantity(spec.limits.cpus), memory: String(spec.limits.memoryBytes) };
  const seccompProfile = { type: "RuntimeDefault" };
  const env = [
    ...Object.entries(spec.env).map(([name, value]) => ({ name, value })),
    { name: RUNNER_ENV.jobEnv, valueFrom: { secretKeyRef: { name: secretNameOf(name), key: JOB_ENV_KEY } } },
  ];
  const volumes = [{ name: "workspace", emptyDir: { sizeLimit: settings.workspaceSize } }];
  const volumeMounts = [{ name: "workspace", mountPath: "/job" }];
  if (spec.readOnlyRoot) {
    volumes.push({ name: "tmp", emptyDir: { sizeLimit: settings.tmpSize } });
    volumeMounts.push({ name: "tmp", mountPath: "/tmp" });
  }
  const grace = Math.max(0, Math.ceil(spec.graceSeconds));
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: settings.namespace, labels },
    spec: {
      backoffLimit: 0,
      // The worker stops the job at its timeout; this is the backstop if the worker is gone.
      activeDeadlineSeconds: Math.ceil(spec.timeoutSeconds) + grace,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: settings.serviceAccount,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: grace,
          ...(Object.keys(settings.nodeSelector).length ? { nodeSelector: settings.nodeSelector } : {}),
          ...(settings.tolerations.length ? { tolerations: settings.tolerations } : {}),
          ...(settings.priorityClass ? { priorityClassName: settings.priorityClass } : {}),
          ...(settings.imagePullSecret ? { imagePullSecrets: [{ name: settings.imagePullSecret }] } : {}),
          securityContext: { runAsNonRoot: true, runAsUser: JOB_UID, runAsGroup: JOB_UID, fsGroup: JOB_UID, seccompProfile },
          volumes,
          containers: [
            {
              name: CONTAINER_NAME,
              image: spec.image,
              imagePullPolicy: "IfNotPresent",
              command: spec.argv,
              workingDir: "/job",
              env,
              resources: { requests: resources, limits: resources },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: JOB_UID,
                runAsGroup: JOB_UID,
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ["ALL"] },
                readOnlyRootFilesystem: spec.readOnlyRoot,
                seccompProfile,
              },
              volumeMounts,
            },
          ],
        },
      },
    },
  };
}
