/**
 * Every Kubernetes API call the kubernetes runtime makes, as the rules of the Role the worker's
 * ServiceAccount needs in the jobs namespace, and nothing more. k8s/'s Role is checked against
 * this list, and the runtime's tests check that each request the runtime sends is covered by it.
 */
import type { V1PolicyRule } from "@kubernetes/client-node";

export const KUBERNETES_RUNTIME_RULES = [
  // A batch/v1 Job per CI job; watched for its end; listed by label at start (leftovers); deleted on cancel and at the end.
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "list", "watch", "delete"] },
  // The Job's pod: its container's state (running, exit code, OOMKilled, why it does not start).
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  // The job container's output, followed.
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  // The job's env and secrets, owned by its Job; deleted as soon as the job ends.
  { apiGroups: [""], resources: ["secrets"], verbs: ["create", "delete"] },
] as const satisfies readonly V1PolicyRule[];

export interface ApiCall {
  verb: string;
  /** "" for the core group. */
  group: string;
  /** e.g. "pods", or "pods/log" for a subresource. */
  resource: string;
}

/** True when `rules` allow `call` (exact group, resource and verb; `*` allowed as in RBAC). */
export function allows(rules: readonly Pick<V1PolicyRule, "apiGroups" | "resources" | "verbs">[], call: ApiCall): boolean {
  const has = (list: readonly string[] | undefined, value: string) => !!list && (list.includes("*") || list.includes(value));
  return rules.some((r) => has(r.apiGroups, call.group) && has(r.resources, call.resource) && has(r.verbs, call.verb));
}
