/**
 * The kubernetes runtime against the Kubernetes API stand-in (daemon/testing/kube-standin/): real
 * HTTPS, the API's paths and JSON, watches, and each Job's pod run on the local Docker engine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startKubeStandin, type KubeStandin } from "../../../testing/kube-standin/server.ts";
import { ensureBusyboxImage } from "../../testing/busybox-image.ts";
import { collect, testSpec } from "../../testing/collect.ts";
import { InfrastructureError, type RunSpec } from "../runtime.ts";
import { KubernetesRuntime, type KubernetesRuntimeOptions } from "./kubernetes.ts";
import { KUBERNETES_RUNTIME_RULES, allows } from "./permissions.ts";

const NAMESPACE = "reactorcide-jobs";
let image = "";
let standin: KubeStandin;

function runtime(overrides: Partial<KubernetesRuntimeOptions> = {}): KubernetesRuntime {
  return new KubernetesRuntime(runtimeOptions(overrides));
}

function runtimeOptions(overrides: Partial<KubernetesRuntimeOptions>): KubernetesRuntimeOptions {
  return {
    kubeConfig: standin.kubeConfig(NAMESPACE),
    namespace: NAMESPACE,
    serviceAccount: "reactorcide-job",
    nodeSelector: {},
    tolerations: [],
    workspaceSize: "1Gi",
    tmpSize: "64Mi",
    ttlSecondsAfterFinished: 300,
    worker: "test-worker",
    startTimeoutSeconds: 20,
    retryMs: 50,
    ...overrides,
  };
}

beforeAll(async () => {
  image = await ensureBusyboxImage();
  standin = await startKubeStandin({ podPidsLimit: 64 });
  const created = await standin.apply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reactorcide-job", namespace: NAMESPACE } },
  ]);
  expect(created.map((c) => c.status)).toEqual([201, 201]);
}, 300_000);

afterAll(async () => {
  await standin?.close();
});

const spec = (script: string, overrides: Partial<RunSpec> = {}) =>
  testSpec({ image, argv: ["reactorcide-runner", "run"], env: { REACTORCIDE_JOB_COMMAND: script }, ...overrides });

function objectsOf(jobId: string) {
  const jobs = standin.store.list({ group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true }, NAMESPACE, `reactorcide.io/job-id=${jobId}`);
  const secrets = standin.store.list({ group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true }, NAMESPACE, `reactorcide.io/job-id=${jobId}`);
  return { jobs, secrets };
}

describe("kubernetes runtime (on the Kubernetes API stand-in)", () => {
  test("a job runs as a hardened pod: non-root, no capabilities, no SA token, env from the Secret, /job an emptyDir; Job and Secret are gone after", async () => {
    const s = spec(
      'id -u; id -G; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; echo "token=$TOKEN"; ' +
        "ls /var/run/secrets/kubernetes.io/serviceaccount 2>&1 | head -1; echo w > /job/f && echo job-writable; touch /etc/x 2>/dev/null && echo ETC-WRITABLE; env | grep -c 'host-canary-''1127'; exit 3",
      { jobEnv: { TOKEN: "tok en-x" } },
    );
    process.env.HOST_CANARY = "host-canary-1127";
    const { stdout, stderr, exit } = await collect(await runtime().start(s));
    delete process.env.HOST_CANARY;
    expect(stderr).toBe("");
    expect(exit).toEqual({ code: 3, oomKilled: false });
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("1001");
    expect(lines[1]!.split(" ")).toContain("1001");
    expect(stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(stdout).toMatch(/Seccomp:\s+2/);
    expect(stdout).toContain("token=tok en-x");
    expect(stdout).toContain("No such file or directory");
    expect(stdout).toContain("job-writable");
    expect(stdout).not.toContain("ETC-WRITABLE");
    expect(lines).toContain("0");
    expect(objectsOf(s.jobId)).toEqual({ jobs: [], secrets: [] });
  }, 60_000);

  test("the Job spec holds no secret value; the Secret is owned by the Job", async () => {
    const s = spec("sleep 2", { jobEnv: { API_KEY: "sekrit-k8s-774" } });
    const running = await runtime().start(s);
    const { jobs, secrets } = objectsOf(s.jobId);
    expect(jobs).toHaveLength(1);
    expect(JSON.stringify(jobs[0])).not.toContain("sekrit-k8s-774");
    expect(secrets[0]!.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "Job", name: jobs[0]!.metadata.name, uid: jobs[0]!.metadata.uid }]);
    await collect(running);
  }, 60_000);

  test("a job over its memory limit is OOMKilled and reported as such", async () => {
    const s = spec("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived", { limits: { memoryBytes: 32 * 2 ** 20, cpus: 1, pids: 64 } });
    const { stdout, exit } = await collect(await runtime().start(s));
    expect(stdout).not.toContain("survived");
    expect(exit).toEqual({ code: 137, oomKilled: true });
  }, 60_000);

  test("a fork bomb is stopped by the node's pod pids limit", async () => {
    const s = spec("n=0; while [ $n -lt 2000 ]; do sleep 30 & n=$((n+1)); echo spawned=$n; done; echo unbounded");
    const { stdout, exit } = await collect(await runtime().start(s));
    expect(stdout).not.toContain("unbounded");
    expect(Math.max(...[...stdout.matchAll(/spawned=(\d+)/g)].map((m) => Number(m[1])))).toBeLessThan(64);
    expect(exit.code).not.toBe(0);
  }, 60_000);

  test("a log stream that keeps dropping is resumed without losing or repeating a line", async () => {
    const dropping = await startKubeStandin({ dropLogStreamsAfterMs: 300 });
    try {
      await dropping.apply([
        { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reactorcide-job", namespace: NAMESPACE } },
      ]);
      const rt = new KubernetesRuntime(runtimeOptions({ kubeConfig: dropping.kubeConfig(NAMESPACE) }));
      // Bursts of lines within one second (same-second timestamps) and lines spread over seconds.
      const s = spec("i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo line-$i; [ $((i % 10)) -eq 0 ] && sleep 0.7; done; echo last");
      const { stdout, exit } = await collect(await rt.start(s));
      expect(exit.code).toBe(0);
      expect(stdout).toBe([...Array.from({ length: 40 }, (_, i) => `line-${i + 1}`), "last", ""].join("\n"));
      expect(dropping.requests.filter((r) => r.resource === "pods/log").length).toBeGreaterThan(5);
    } finally {
      await dropping.close();
    }
  }, 60_000);

  test("stop deletes the Job: SIGTERM, then SIGKILL after the grace period", async () => {
    const s = spec("trap '' TERM; echo started; while true; do sleep 1; done");
    const job = await runtime().start(s);
    const reader = job.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("started");
    reader.releaseLock();
    const t0 = Date.now();
    await job.stop(1);
    const exit = await job.exited;
    expect(exit.code).toBe(137);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(objectsOf(s.jobId)).toEqual({ jobs: [], secrets: [] });
  }, 60_000);

  test("a missing image ends as an infrastructure error with Kubernetes' reason", async () => {
    const s = spec("true", { image: "reactorcide/not-built:never" });
    const error = await (await runtime().start(s)).exited.catch((e) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error.message).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(error.message).toContain("reactorcide/not-built:never");
    expect(objectsOf(s.jobId)).toEqual({ jobs: [], secrets: [] });
  }, 60_000);

  test("a pod no node takes ends error after the start timeout, naming why (Unschedulable)", async () => {
    const s = spec("true");
    const error = await (await runtime({ nodeSelector: { pool: "gpu" }, startTimeoutSeconds: 1 }).start(s)).exited.catch((e) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error.message).toContain("did not start within 1 s: Unschedulable: 0/1 nodes are available");
  }, 60_000);

  test("the Job's deadline (timeout + grace) ends a job the worker did not stop: deadlineExceeded", async () => {
    const s = spec("echo begin; sleep 60", { timeoutSeconds: 1, graceSeconds: 1 });
    const { stdout, exit } = await collect(await runtime().start(s));
    expect(stdout).toContain("begin");
    expect(exit.deadlineExceeded).toBe(true);
  }, 60_000);

  test("a restarted worker finds its Jobs by label and removes them with their Secrets", async () => {
    const rt = runtime({ worker: "restarting-worker" });
    const s = spec("sleep 120");
    const running = await rt.start(s);
    expect(await rt.leftovers()).toEqual([s.jobId]);
    expect(await runtime({ worker: "someone-else" }).leftovers()).not.toContain(s.jobId);
    await rt.remove(s.jobId);
    await running.exited.catch(() => {});
    expect(objectsOf(s.jobId)).toEqual({ jobs: [], secrets: [] });
    expect(await rt.leftovers()).toEqual([]);
  }, 60_000);

  test("an API server that refuses the worker's credentials is an infrastructure error naming it", async () => {
    await expect(runtime().preflight(spec("true"))).resolves.toBeUndefined();
    const error = await runtime({ kubeConfig: standin.kubeConfig(NAMESPACE, "wrong-token") }).preflight(spec("true")).catch((e) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error.message).toContain("401");
  });

  test("every call the runtime made is allowed by the Role it documents", () => {
    const calls = standin.requests.filter((r) => r.namespace === NAMESPACE || r.resource !== "namespaces");
    expect(calls.length).toBeGreaterThan(10);
    const used = new Set(calls.filter((c) => !["namespaces", "serviceaccounts"].includes(c.resource)).map((c) => `${c.group}/${c.resource}:${c.verb}`));
    for (const call of used) {
      const [gr, verb] = call.split(":");
      const [group, ...resource] = gr!.split("/");
      expect({ call, allowed: allows(KUBERNETES_RUNTIME_RULES, { group: group!, resource: resource.join("/"), verb: verb! }) }).toEqual({ call, allowed: true });
    }
  });
});
