/**
 * The resources the stand-in serves, as the API server's discovery names them, and the
 * kubernetes-models class (an independent description of each object) that validates what it receives.
 */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  /** URL name, e.g. "jobs". */
  plural: string;
  kind: string;
  namespaced: boolean;
}

const r = (group: string, version: string, plural: string, kind: string, namespaced = true): ResourceType => ({ group, version, plural, kind, namespaced });

export const RESOURCES: readonly ResourceType[] = [
  r("", "v1", "namespaces", "Namespace", false),
  r("", "v1", "pods", "Pod"),
  r("", "v1", "secrets", "Secret"),
  r("", "v1", "configmaps", "ConfigMap"),
  r("", "v1", "services", "Service"),
  r("", "v1", "serviceaccounts", "ServiceAccount"),
  r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
  r("", "v1", "limitranges", "LimitRange"),
  r("", "v1", "resourcequotas", "ResourceQuota"),
  r("", "v1", "events", "Event"),
  r("apps", "v1", "deployments", "Deployment"),
  r("apps", "v1", "statefulsets", "StatefulSet"),
  r("apps", "v1", "daemonsets", "DaemonSet"),
  r("apps", "v1", "replicasets", "ReplicaSet"),
  r("batch", "v1", "jobs", "Job"),
  r("batch", "v1", "cronjobs", "CronJob"),
  r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
  r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
  r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
  r("networking.k8s.io", "v1", "ingresses", "Ingress"),
  r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
  r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
  r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false),
];

export const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);

export function resourceByPath(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function resourceByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

type Validator = { validate(): void };
const models = new Map<string, new (data: unknown) => Validator>();

/** Validates an object against kubernetes-models' schema of its kind; throws with the schema's message. */
export async function validateObject(t: ResourceType, object: unknown): Promise<void> {
  const key = `${apiVersionOf(t)}/${t.kind}`;
  let Model = models.get(key);
  if (!Model) {
    const module = (await import(`kubernetes-models/${t.group ? `${t.group}/` : ""}${t.version}/${t.kind}`)) as Record<string, new (data: unknown) => Validator>;
    Model = module[t.kind]!;
    models.set(key, Model);
  }
  new Model(object).validate();
}
