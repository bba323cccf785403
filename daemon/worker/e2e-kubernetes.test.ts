/**
 * The worker's end-to-end cases on the kubernetes runtime, against the Kubernetes API stand-in
 * (daemon/testing/kube-standin/, its pods on the local Docker engine): the real API, the embedded
 * Corndogs server, workers over HTTP and gRPC, jobs in the locally built runner image.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { startKubeStandin, type KubeStandin } from "../testing/kube-standin/server.ts";
import { RESOURCES } from "../testing/kube-standin/resources.ts";
import type { KubernetesRuntimeOptions } from "./runtimes/kubernetes/kubernetes.ts";
import { startTestSystem, type TestSystem } from "./testing/system.ts";

const NAMESPACE = "reactorcide-jobs";
let system: TestSystem;
let standin: KubeStandin;
const jobsType = RESOURCES.find((t) => t.plural === "jobs")!;
const secretsType = RESOURCES.find((t) => t.plural === "secrets")!;

function kube(worker: string): KubernetesRuntimeOptions {
  return {
    kubeConfig: standin.kubeConfig(NAMESPACE),
    namespace: NAMESPACE,
    serviceAccount: "reactorcide-job",
    nodeSelector: {},
    tolerations: [],
    workspaceSize: "2Gi",
    tmpSize: "64Mi",
    ttlSecondsAfterFinished: 300,
    worker,
    startTimeoutSeconds: 60,
    retryMs: 100,
  };
}

/** What the stand-in still holds of a job. */
function objectsOf(jobId: string) {
  const selector = `reactorcide.io/job-id=${jobId}`;
  return { jobs: standin.store.list(jobsType, NAMESPACE, selector).length, secrets: standin.store.list(secretsType, NAMESPACE, selector).length };
}

async function gone(jobId: string, limitMs = 20_000) {
  const deadline = Date.now() + limitMs;
  while (objectsOf(jobId).jobs + objectsOf(jobId).secrets > 0) {
    if (Date.now() > deadline) throw new Error(`job ${jobId}: Job or Secret still there: ${JSON.stringify(objectsOf(jobId))}`);
    await Bun.sleep(100);
  }
}

beforeAll(async () => {
  const image = await ensureRunnerImage();
  standin = await startKubeStandin({ podPidsLimit: 256 });
  await standin.apply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reactorcide-job", namespace: NAMESPACE } },
  ]);
  system = await startTestSystem({ image });
  await system.addWorker({ runtime: "kubernetes", concurrency: 2, leaseSeconds: 3, kubernetes: kube("e2e-worker-a") });
}, 900_000);

afterAll(async () => {
  await system?.close();
  await standin?.close();
});

test("kubernetes (stand-in): a job's secret comes out masked, plain and base64; its stdout trigger line runs the follow-up job, on Kubernetes too; no Job or Secret is left", async () => {
  const secret = "k8s-Key-5521ab";
  await system.setSecret("K8S_KEY", secret);
  const trigger = JSON.stringify({ type: "trigger_job", operation_id: crypto.randomUUID(), jobs: [{ job_name: "next", env: { A: "1" }, job_command: "echo from-next A=$A" }] });
  const job = await system.submit({
    name: "deploy",
    command: `echo "key=$K8S_KEY stage=$STAGE"; printf %s "$K8S_KEY" | base64; echo '::reactorcide::trigger::${trigger}'; echo done`,
    env: { STAGE: "prod" },
    secrets: ["K8S_KEY"],
  });
  const done = await system.waitFor(job.id);
  const log = await system.logText(job.id);
  expect({ status: done.status, reason: done.reason }).toEqual({ status: "success", reason: "the job's command exited 0" });
  expect(log).toContain("key=*** stage=prod");
  expect(log).not.toContain(secret);
  expect(log).not.toContain(Buffer.from(secret).toString("base64"));
  expect(log).toContain(`::reactorcide::trigger::${trigger}`);
  expect(log).toContain("done");
  await gone(job.id);
  // The pod's disk is out of the worker's reach: the stdout line is how the trigger arrives.
  let next: { id: string; parent_job_id: string | null } | undefined;
  for (let i = 0; i < 200 && !next; i++) {
    const listed = await system.http("GET", `/api/v1/jobs?project=${system.projectId}&name=next&limit=50`);
    next = (listed.json?.jobs as { id: string; parent_job_id: string | null }[] | undefined)?.find((j) => j.parent_job_id === job.id);
    if (!next) await Bun.sleep(100);
  }
  expect(next).toBeDefined();
  const child = await system.waitFor(next!.id);
  expect(child.status).toBe("success");
  expect(await system.logText(next!.id)).toContain("from-next A=1");
  await gone(next!.id);
}, 180_000);

test("kubernetes (stand-in): a job past its timeout ends timed_out", async () => {
  const job = await system.submit({ name: "slow", command: "echo start; sleep 60", timeout: 2 });
  const done = await system.waitFor(job.id);
  expect(done.status).toBe("timed_out");
  expect(done.reason).toContain("timed out after 2 s");
  expect(await system.logText(job.id)).toContain("start");
  await gone(job.id);
}, 120_000);

test("kubernetes (stand-in): cancel deletes the Job within the grace period and the job ends cancelled", async () => {
  const job = await system.submit({ name: "long", command: "echo started; sleep 300" });
  while (!(await system.logText(job.id)).includes("started")) await Bun.sleep(100);
  expect((await system.http("POST", `/api/v1/jobs/${job.id}/cancel`)).status).toBe(200);
  await gone(job.id, 15_000);
  expect((await system.job(job.id)).status).toBe("cancelled");
}, 120_000);

test("kubernetes (stand-in): a job over its memory limit fails naming the limit; a fork bomb meets the pod pids limit", async () => {
  const hog = await system.submit({ name: "hog", command: "x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo surv''ived", resources: { memory: "64m" } });
  const bomb = await system.submit({ name: "bomb", command: "n=0; while [ $n -lt 3000 ]; do sleep 60 & n=$((n+1)); done; echo unbou''nded" });
  const [h, b] = await Promise.all([system.waitFor(hog.id), system.waitFor(bomb.id)]);
  expect(h.status).toBe("failure");
  expect(h.reason).toContain("exceeded its memory limit (64 MiB)");
  expect(await system.logText(hog.id)).not.toContain("survived");
  expect(b.status).toBe("failure");
  const bombLog = await system.logText(bomb.id);
  expect(bombLog).toMatch(/fork/i);
  expect(bombLog).not.toContain("unbounded");
}, 120_000);

test("kubernetes (stand-in): a hostile job sees no host env, no service account token, cannot write outside /job or gain privileges", async () => {
  process.env.REACTORCIDE_HOST_CANARY = "k8s-host-canary-8812";
  const job = await system.submit({
    name: "hostile",
    command: [
      'env | grep -c "k8s-host-canary-""8812" || echo no-canary',
      'ls /var/run/secrets/kubernetes.io/serviceaccount/token 2>/dev/null && echo "SA-""TOKEN" || echo no-sa-token',
      'env | grep -c "^KUBERNETES_PORT_" || echo no-service-links',
      'touch /usr/evil 2>/dev/null && echo "WROTE-""USR" || echo usr-refused',
      "echo ok > /job/inside && echo job-ok",
      "echo uid=$(id -u)",
      "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status",
      'su -c id root </dev/null 2>/dev/null && echo "BECAME-""ROOT" || echo su-refused',
    ].join("; "),
  });
  const done = await system.waitFor(job.id);
  delete process.env.REACTORCIDE_HOST_CANARY;
  const log = await system.logText(job.id);
  expect(done.status).toBe("success");
  for (const line of ["no-canary", "no-sa-token", "no-service-links", "usr-refused", "job-ok", "uid=1001", "su-refused"]) expect(log).toContain(line);
  for (const bad of ["SA-TOKEN", "WROTE-USR", "BECAME-ROOT", "k8s-host-canary-8812"]) expect(log).not.toContain(bad);
  expect(log).toMatch(/CapEff:\s+0000000000000000/);
  expect(log).toMatch(/NoNewPrivs:\s+1/);
  expect(log).toMatch(/Seccomp:\s+2/);
}, 120_000);

test("kubernetes (stand-in): two workers on one queue run every job exactly once", async () => {
  const second = await system.addWorker({ runtime: "kubernetes", concurrency: 2, leaseSeconds: 3, kubernetes: kube("e2e-worker-b") });
  const jobs = await Promise.all(Array.from({ length: 6 }, (_, i) => system.submit({ name: `many-${i}`, command: `echo run-${i}` })));
  const done = await Promise.all(jobs.map((j) => system.waitFor(j.id)));
  expect(done.map((d) => d.status)).toEqual(Array(6).fill("success"));
  for (const [i, j] of jobs.entries()) {
    const log = await system.logText(j.id);
    expect(log.split("\n").filter((l) => l.endsWith(`run-${i}`) && !l.includes("echo"))).toHaveLength(1);
  }
  // Each job's Job was created once.
  const creates = standin.requests.filter((r) => r.resource === "jobs" && r.verb === "create").length;
  expect(creates).toBeGreaterThanOrEqual(6);
  await second.stop();
}, 180_000);

test("kubernetes (stand-in): a worker killed with SIGKILL mid-job: restarted, it removes its Job and Secret; the job ends once, error", async () => {
  const root = join(import.meta.dir, "..", "..");
  const kubeconfig = join(await mkdtemp(join(tmpdir(), "reactorcide-kubeconfig-")), "config");
  await writeFile(kubeconfig, standin.kubeConfigYaml(NAMESPACE), { mode: 0o600 });
  const spawnWorker = () =>
    Bun.spawn(
      [process.execPath, join(root, "daemon", "main.ts"), "worker", "--coordinator", system.url, "--token", system.workerToken, "--queue", system.corndogs.address,
        "--concurrency", "1", "--lease-seconds", "2", "--runtime", "kubernetes", "--kubeconfig", kubeconfig, "--kube-namespace", NAMESPACE],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, REACTORCIDE_WORKER_NAME: "doomed-worker", CONSOLA_LEVEL: "3", REACTORCIDE_DEFAULT_IMAGE: "reactorcide/runner:dev" } },
    );
  const doomed = spawnWorker();
  // Only the doomed worker may take this job: the in-process worker's slots are kept busy.
  const blockers = await Promise.all([1, 2].map(() => system.submit({ name: "blocker", command: "sleep 15" })));
  for (const b of blockers) await system.waitFor(b.id, ["running"]);
  const job = await system.submit({ name: "orphan", command: "echo alive; sleep 300" });
  await system.waitFor(job.id, ["running"]);
  while (objectsOf(job.id).jobs === 0) await Bun.sleep(100);
  doomed.kill("SIGKILL");
  await doomed.exited;
  expect(objectsOf(job.id).jobs).toBe(1);
  const restarted = spawnWorker();
  await gone(job.id, 30_000);
  const sweeper = setInterval(() => void system.queueClient.cleanUpTimedOut({ queue: "reactorcide-jobs" }), 500);
  const done = await system.waitFor(job.id, ["success", "failure", "error", "cancelled", "timed_out"], 90_000);
  clearInterval(sweeper);
  restarted.kill("SIGTERM");
  const out = (await new Response(restarted.stdout).text()) + (await new Response(restarted.stderr).text());
  expect(out).toContain(`removed what 1 earlier job(s) left on kubernetes: ${job.id}`);
  expect(done.status).toBe("error");
  expect(done.reason).toContain("stopped responding");
  for (const b of blockers) await system.waitFor(b.id);
}, 240_000);
