/**
 * The Kubernetes manifests: every object is valid by kubernetes-models (the Kubernetes OpenAPI
 * schemas, an independent description), kustomization.yaml lists every manifest, the worker's
 * Role grants exactly what the kubernetes runtime calls (its own list, KUBERNETES_RUNTIME_RULES),
 * job pods are fenced in, and the whole kustomization applies to the Kubernetes API stand-in.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import * as models from "kubernetes-models";
import workerCommand from "../daemon/commands/worker.ts";
import { startKubeStandin } from "../daemon/testing/kube-standin/server.ts";
import { KUBERNETES_RUNTIME_RULES } from "../daemon/worker/runtimes/kubernetes/permissions.ts";
import { NETWORK_LABEL } from "../daemon/worker/runtimes/kubernetes/objects.ts";

interface PolicyRule {
  apiGroups: readonly string[];
  resources: readonly string[];
  verbs: readonly string[];
}

const k8sDir = import.meta.dir;

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** "apps/v1" -> models.apps.v1, "rbac.authorization.k8s.io/v1" -> models.rbacAuthorizationK8sIo.v1, "v1" -> models.v1. */
function modelClass(apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) | undefined {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const groupKey = group!.replace(/[.-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const byGroup = models as unknown as Record<string, Record<string, Record<string, unknown>>>;
  const versions = group ? byGroup[groupKey] : { [version!]: byGroup.v1 as unknown as Record<string, unknown> };
  return versions?.[version!]?.[kind] as (new (data: unknown) => { validate(): void }) | undefined;
}

function loadObjects(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(join(k8sDir, file), "utf8"))
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

function kustomization(dir: string): { resources: string[] } {
  return parseYaml(readFileSync(join(k8sDir, dir, "kustomization.yaml"), "utf8"));
}

const mainFiles = kustomization(".").resources;
const postgresFiles = kustomization("postgres").resources.map((f) => join("postgres", f));
const all = [...mainFiles, ...postgresFiles, "secrets.example.yaml"].flatMap((file) => loadObjects(file).map((object) => ({ file, object })));
const main = mainFiles.flatMap(loadObjects);
const find = (kind: string, name: string) => {
  const found = main.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in k8s/kustomization.yaml`);
  return found as KubeObject & { spec: any };
};

describe("k8s manifests", () => {
  test("every object validates against the Kubernetes schemas (kubernetes-models)", () => {
    expect(all.length).toBeGreaterThan(15);
    for (const { file, object } of all) {
      const Model = modelClass(object.apiVersion, object.kind);
      if (!Model) throw new Error(`${file}: ${object.apiVersion} ${object.kind} is not a Kubernetes kind kubernetes-models knows`);
      try {
        new Model(object).validate();
      } catch (error) {
        throw new Error(`${file}: ${object.kind} ${object.metadata.name}: ${(error as Error).message}`);
      }
    }
  });

  test("a wrong field is caught by the same validation (the check can fail)", () => {
    const broken = structuredClone(find("Deployment", "reactorcide-worker"));
    broken.spec.template.spec.containers[0].resources.limits = { cpu: { many: true } };
    const Model = modelClass(broken.apiVersion, broken.kind)!;
    expect(() => new Model(broken).validate()).toThrow(/limits/);
  });

  test("kustomization.yaml lists every manifest under k8s/ (postgres/ and the Secret example apart)", () => {
    const files = (readdirSync(k8sDir, { recursive: true }) as string[])
      .filter((f) => f.endsWith(".yaml") && !f.endsWith("kustomization.yaml"))
      .filter((f) => !f.startsWith("postgres/") && f !== "secrets.example.yaml")
      .sort();
    expect([...mainFiles].sort()).toEqual(files);
    expect(postgresFiles.sort()).toEqual(["postgres/service.yaml", "postgres/statefulset.yaml"]);
  });

  test("objects live in the system or the jobs namespace, and no Secret is filled in", () => {
    for (const o of main) {
      if (o.kind === "Namespace") continue;
      expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toMatch(/ in reactorcide(-jobs)?$/);
    }
    expect(main.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name).sort()).toEqual(["reactorcide", "reactorcide-jobs"]);
    expect(main.filter((o) => o.kind === "Secret")).toEqual([]);
    const coordinator = find("Deployment", "reactorcide-coordinator").spec.template.spec.containers[0];
    const fromSecrets = Object.fromEntries(
      coordinator.env.map((e: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }) => [e.name, e.valueFrom?.secretKeyRef?.name]),
    );
    expect(fromSecrets).toMatchObject({ DATABASE_URL: "reactorcide-coordinator", REACTORCIDE_MASTER_KEY: "reactorcide-coordinator" });
  });

  test("the coordinator serves without a worker, probed on /healthz and /readyz", () => {
    const spec = find("Deployment", "reactorcide-coordinator").spec.template.spec;
    const c = spec.containers[0];
    expect(c.args.slice(0, 2)).toEqual(["serve", "--no-worker"]);
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(find("Service", "reactorcide-coordinator").spec.selector).toEqual(find("Deployment", "reactorcide-coordinator").spec.selector.matchLabels);
  });

  test("the worker's Role grants exactly the calls the kubernetes runtime makes, in the jobs namespace, and nothing cluster-wide", () => {
    const role = find("Role", "reactorcide-worker") as unknown as KubeObject & { rules: PolicyRule[] };
    expect(role.metadata.namespace).toBe("reactorcide-jobs");
    const flatten = (rules: readonly PolicyRule[]) =>
      rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || "core"}/${res}:${v}`)))).sort();
    expect(flatten(role.rules)).toEqual(flatten(KUBERNETES_RUNTIME_RULES));
    expect(role.rules.some((r) => r.verbs.includes("*") || r.resources.includes("*"))).toBe(false);
    expect(main.some((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")).toBe(false);
    const binding = find("RoleBinding", "reactorcide-worker");
    expect(binding.metadata.namespace).toBe("reactorcide-jobs");
    expect((binding as any).roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reactorcide-worker" });
    expect((binding as any).subjects).toEqual([{ kind: "ServiceAccount", name: "reactorcide-worker", namespace: "reactorcide" }]);
    expect(find("Deployment", "reactorcide-worker").spec.template.spec.serviceAccountName).toBe("reactorcide-worker");
  });

  test("workers run the kubernetes runtime into the jobs namespace as the job service account, scaled by an HPA, drained one at a time", () => {
    const worker = find("Deployment", "reactorcide-worker");
    const args: string[] = worker.spec.template.spec.containers[0].args;
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(args[0]).toBe("worker");
    expect(flag("--runtime")).toBe("kubernetes");
    expect(flag("--kube-namespace")).toBe("reactorcide-jobs");
    expect(flag("--kube-service-account")).toBe("reactorcide-job");
    // Every flag is one `reactorcide worker` defines.
    const defined = Object.keys(workerCommand.args ?? {});
    for (const f of args.filter((a) => a.startsWith("--"))) expect(`${f}: ${defined.includes(f.slice(2)) ? "defined" : "not a flag of reactorcide worker"}`).toBe(`${f}: defined`);
    const jobAccount = main.find((o) => o.kind === "ServiceAccount" && o.metadata.name === "reactorcide-job")!;
    expect(jobAccount.metadata.namespace).toBe("reactorcide-jobs");
    expect((jobAccount as any).automountServiceAccountToken).toBe(false);
    const hpa = find("HorizontalPodAutoscaler", "reactorcide-worker");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "reactorcide-worker" });
    const pdb = find("PodDisruptionBudget", "reactorcide-worker");
    expect(pdb.spec.selector.matchLabels).toEqual(worker.spec.selector.matchLabels);
  });

  test("job pods: default deny in, out only DNS and public addresses (not pods, Services, the API server or metadata)", () => {
    const policy = find("NetworkPolicy", "reactorcide-jobs-default-deny");
    expect(policy.metadata.namespace).toBe("reactorcide-jobs");
    // Every job pod except those that asked for `network: none`, which a policy of their own fences completely.
    expect(policy.spec.podSelector).toEqual({ matchExpressions: [{ key: NETWORK_LABEL, operator: "NotIn", values: ["none"] }] });
    const none = find("NetworkPolicy", "reactorcide-jobs-network-none");
    expect({ selector: none.spec.podSelector, types: none.spec.policyTypes, ingress: none.spec.ingress, egress: none.spec.egress }).toEqual({
      selector: { matchLabels: { [NETWORK_LABEL]: "none" } },
      types: ["Ingress", "Egress"],
      ingress: [],
      egress: [],
    });
    expect(policy.spec.policyTypes.sort()).toEqual(["Egress", "Ingress"]);
    expect(policy.spec.ingress).toEqual([]);
    const [dns, internet] = policy.spec.egress;
    expect(dns.ports).toEqual([{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }]);
    const v4 = internet.to.find((t: any) => t.ipBlock.cidr === "0.0.0.0/0").ipBlock.except;
    for (const range of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]) expect(v4).toContain(range);
    expect(internet.ports).toBeUndefined();
    expect(find("LimitRange", "reactorcide-jobs").metadata.namespace).toBe("reactorcide-jobs");
    expect(find("ResourceQuota", "reactorcide-jobs").spec.hard.pods).toBeDefined();
  });

  test("the kustomization and the Postgres option apply to the Kubernetes API stand-in (kubectl create order), and read back", async () => {
    const standin = await startKubeStandin({ namespaces: ["default", "kube-system"] });
    try {
      const objects = [...main, ...postgresFiles.flatMap(loadObjects)];
      const results = await standin.apply(objects);
      const refused = results
        .map((r, i) => ({ status: r.status, what: `${objects[i]!.kind} ${objects[i]!.metadata.name}`, body: r.body }))
        .filter((r) => r.status !== 201);
      expect(refused).toEqual([]);
      const kc = standin.kubeConfig();
      const cluster = kc.getCurrentCluster()!;
      const get = async (path: string) => {
        const r = await fetch(cluster.server + path, { headers: { authorization: `Bearer ${standin.token}` }, tls: { ca: standin.caPem } } as RequestInit);
        return { status: r.status, body: (await r.json()) as any };
      };
      const role = await get("/apis/rbac.authorization.k8s.io/v1/namespaces/reactorcide-jobs/roles/reactorcide-worker");
      expect(role.status).toBe(200);
      expect(role.body.rules).toEqual(find("Role", "reactorcide-worker").rules);
      expect((await get("/apis/apps/v1/namespaces/reactorcide/deployments/reactorcide-coordinator")).status).toBe(200);
      expect((await get("/apis/networking.k8s.io/v1/namespaces/reactorcide-jobs/networkpolicies/reactorcide-jobs-default-deny")).body.spec).toEqual(find("NetworkPolicy", "reactorcide-jobs-default-deny").spec);
      // A second apply is a conflict, as from the real API server (the stand-in is not a no-op).
      const again = await standin.apply([find("Role", "reactorcide-worker")]);
      expect(again[0]!.status).toBe(409);
    } finally {
      await standin.close();
    }
  });
});
