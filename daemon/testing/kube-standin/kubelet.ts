/**
 * The stand-in's controllers: the Job controller (one pod per Job attempt, status and conditions
 * as batch/v1 reports them, activeDeadlineSeconds, backoffLimit, ttlSecondsAfterFinished), a
 * one-node scheduler (nodeSelector, taints), a kubelet that runs each pod's container on the local
 * Docker engine honouring its securityContext, resources, env (values and Secret references) and
 * emptyDir volumes, and the garbage collector (ownerReferences, Orphan/Background/Foreground).
 */
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engine, type ContainerCreate } from "./docker-engine.ts";
import { RESOURCES, type ResourceType } from "./resources.ts";
import { StatusError } from "./status.ts";
import { now, type KubeObject, type Store } from "./store.ts";

export interface KubeletOptions {
  nodeName: string;
  nodeLabels: Record<string, string>;
  nodeTaints: { key: string; value?: string; effect: string }[];
  /** The kubelet's podPidsLimit: the most processes a pod may have. */
  podPidsLimit: number;
  /** Tests of log resumption: each followed log stream is closed after this many ms, as a dropped connection. */
  dropLogStreamsAfterMs?: number;
}

const type = (plural: string) => RESOURCES.find((t) => t.plural === plural)!;
const JOBS = type("jobs");
const PODS = type("pods");
const SECRETS = type("secrets");
const CONFIGMAPS = type("configmaps");
const SERVICE_ACCOUNTS = type("serviceaccounts");
const NAMESPACES = type("namespaces");

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes JSON, validated by kubernetes-models on the way in

const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, m: 1e-3 };

/** A Kubernetes quantity ("512Mi", "500m", "2") as a number. */
export function quantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[2]! in UNITS)) throw new Error(`quantity "${q}" is not valid`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** RFC3339Nano as Go writes it: trailing zeros of the fraction trimmed. */
const goNano = (ts: string) => ts.replace(/\.(\d*?)0+Z$/, (_, d: string) => (d ? `.${d}Z` : "Z"));

interface PodRun {
  containerId?: string;
  deleting?: { grace: number };
  stopped?: boolean;
  volumes: string;
  waiting: string;
  wake?: () => void;
}

export class Kubelet {
  apiServer = { host: "127.0.0.1", port: 443 };
  private readonly options: KubeletOptions;
  private readonly pods = new Map<string, PodRun>();
  private readonly timers = new Set<Timer>();
  private readonly foreground = new Map<string, { t: ResourceType; namespace?: string; name: string }>();
  private readonly root: string;
  private closed = false;
  private readonly instance = crypto.randomUUID().slice(0, 8);

  constructor(
    private readonly store: Store,
    options: Partial<KubeletOptions>,
  ) {
    this.options = {
      nodeName: "standin-node",
      nodeLabels: { "kubernetes.io/hostname": "standin-node", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" },
      nodeTaints: [],
      podPidsLimit: 1024,
      ...options,
    };
    this.root = join(tmpdir(), `kube-standin-${this.instance}`);
    store.subscribe((e) => {
      if (this.closed) return;
      if (e.type === "ADDED" && e.resource === NAMESPACES) this.createDefaultServiceAccount(e.object.metadata.name);
      if (e.type === "ADDED" && e.resource === JOBS) void this.startJob(e.object);
      if (e.type === "ADDED" && e.resource === PODS) void this.runPod(e.object);
      if (e.type === "DELETED") this.settleForeground();
    });
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
  }

  private createDefaultServiceAccount(namespace: string): void {
    if (this.store.get(SERVICE_ACCOUNTS, namespace, "default")) return;
    this.store.create(SERVICE_ACCOUNTS, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace, uid: crypto.randomUUID(), resourceVersion: "", creationTimestamp: now() } });
  }

  /** Defaults and checks the API server applies on create, beyond the schema. */
  admit(t: ResourceType, object: KubeObject, invalid: (message: string) => Error): void {
    const o = object as Any;
    if (t === JOBS) {
      const pod = o.spec?.template?.spec;
      if (!["Never", "OnFailure"].includes(pod?.restartPolicy)) {
        throw invalid(`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`);
      }
      if (!pod?.containers?.length) throw invalid("spec.template.spec.containers: Required value");
      const uid = object.metadata.uid;
      const labels = { "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": object.metadata.name, "controller-uid": uid, "job-name": object.metadata.name };
      o.spec = { backoffLimit: 6, completions: 1, parallelism: 1, suspend: false, ...o.spec, selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } } };
      o.spec.template.metadata = { ...(o.spec.template.metadata ?? {}), labels: { ...(o.spec.template.metadata?.labels ?? {}), ...labels } };
      o.status = {};
    }
    if (t === SECRETS) {
      const data: Record<string, string> = { ...(o.data ?? {}) };
      for (const [k, v] of Object.entries((o.stringData ?? {}) as Record<string, string>)) data[k] = Buffer.from(v).toString("base64");
      for (const [k, v] of Object.entries(data)) {
        if (!/^[-._a-zA-Z0-9]+$/.test(k)) throw invalid(`data[${k}]: Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`);
        if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw invalid(`data[${k}]: Invalid value: "<secret contents redacted>": illegal base64 data`);
      }
      o.data = data;
      delete o.stringData;
      o.type ??= "Opaque";
    }
    if (t === PODS) {
      o.spec.terminationGracePeriodSeconds ??= 30;
      o.spec.serviceAccountName ??= "default";
      o.status = { phase: "Pending", conditions: [] };
    }
  }

  // ---- Job controller ----

  private async startJob(job: KubeObject): Promise<void> {
    const { namespace, name } = job.metadata as { namespace: string; name: string };
    this.store.mutate(JOBS, namespace, name, (j) => ((j as Any).status = { ...(j as Any).status, startTime: now(), active: 0 }));
    const deadline = (job as Any).spec.activeDeadlineSeconds as number | undefined;
    if (deadline) this.later(deadline * 1000, () => this.jobDeadline(namespace, name, job.metadata.uid));
    this.createPod(job);
  }

  private createPod(job: KubeObject): void {
    const current = this.store.get(JOBS, job.metadata.namespace, job.metadata.name) as Any | undefined;
    if (!current || current.metadata.uid !== job.metadata.uid || current.metadata.deletionTimestamp || this.finished(current)) return;
    const template = current.spec.template;
    const sa = template.spec.serviceAccountName ?? "default";
    if (!this.store.get(SERVICE_ACCOUNTS, current.metadata.namespace, sa)) {
      // As the Job controller's pod create is refused: error looking up service account; retried.
      this.later(500, () => this.createPod(job));
      return;
    }
    const pod: Any = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${current.metadata.name}-${crypto.randomUUID().slice(0, 5)}`,
        namespace: current.metadata.namespace,
        labels: template.metadata?.labels ?? {},
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: current.metadata.name, uid: current.metadata.uid, controller: true, blockOwnerDeletion: true }],
        uid: crypto.randomUUID(),
        creationTimestamp: now(),
        resourceVersion: "",
      },
      spec: structuredClone(template.spec),
    };
    this.admit(PODS, pod as KubeObject, (m) => new Error(m));
    this.store.create(PODS, pod as KubeObject);
  }

  private finished(job: Any): boolean {
    return !!job.status?.conditions?.some((c: Any) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  }

  private jobDeadline(namespace: string, name: string, uid: string): void {
    const job = this.store.get(JOBS, namespace, name) as Any | undefined;
    if (!job || job.metadata.uid !== uid || this.finished(job)) return;
    const t = now();
    this.store.mutate(JOBS, namespace, name, (j) => {
      const s = ((j as Any).status ??= {});
      s.conditions = [
        ...(s.conditions ?? []),
        { type: "FailureTarget", status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline", lastProbeTime: t, lastTransitionTime: t },
        { type: "Failed", status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline", lastProbeTime: t, lastTransitionTime: t },
      ];
    });
    for (const { t: dt, object } of this.store.dependents(uid)) if (dt === PODS) this.deletePod(object, undefined);
    this.afterFinish(namespace, name, uid);
  }

  private afterFinish(namespace: string, name: string, uid: string): void {
    const job = this.store.get(JOBS, namespace, name) as Any | undefined;
    const ttl = job?.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return;
    this.later(ttl * 1000, () => {
      const j = this.store.get(JOBS, namespace, name);
      if (j && j.metadata.uid === uid) this.delete(JOBS, j, "Background", undefined);
    });
  }

  /** The Job controller's view of a pod that ended. */
  private podEnded(pod: Any, succeeded: boolean): void {
    const owner = pod.metadata.ownerReferences?.find((r: Any) => r.kind === "Job" && r.controller);
    if (!owner) return;
    const job = this.store.get(JOBS, pod.metadata.namespace, owner.name) as Any | undefined;
    if (!job || job.metadata.uid !== owner.uid) return;
    const alreadyFinished = this.finished(job);
    const t = now();
    let retry = false;
    this.store.mutate(JOBS, job.metadata.namespace, job.metadata.name, (j) => {
      const s = ((j as Any).status ??= {});
      s.active = 0;
      s.ready = 0;
      if (succeeded) s.succeeded = (s.succeeded ?? 0) + 1;
      else s.failed = (s.failed ?? 0) + 1;
      if (alreadyFinished) return;
      if (succeeded) {
        s.completionTime = t;
        s.conditions = [...(s.conditions ?? []), { type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastProbeTime: t, lastTransitionTime: t }, { type: "Complete", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastProbeTime: t, lastTransitionTime: t }];
      } else if (s.failed > ((j as Any).spec.backoffLimit ?? 6)) {
        s.conditions = [...(s.conditions ?? []), { type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", lastProbeTime: t, lastTransitionTime: t }, { type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", lastProbeTime: t, lastTransitionTime: t }];
      } else retry = true;
    });
    if (retry) this.later(1000, () => this.createPod(job as KubeObject));
    else if (!alreadyFinished) this.afterFinish(job.metadata.namespace, job.metadata.name, job.metadata.uid);
  }

  // ---- scheduler and kubelet ----

  private schedulable(pod: Any): string | null {
    const selector: Record<string, string> = pod.spec.nodeSelector ?? {};
    for (const [k, v] of Object.entries(selector)) {
      if (this.options.nodeLabels[k] !== v) return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    }
    const tolerations: Any[] = pod.spec.tolerations ?? [];
    for (const taint of this.options.nodeTaints) {
      if (taint.effect === "PreferNoSchedule") continue;
      const tolerated = tolerations.some(
        (t) => (t.effect === undefined || t.effect === "" || t.effect === taint.effect) && (t.operator === "Exists" ? t.key === undefined || t.key === taint.key : t.key === taint.key && (t.value ?? "") === (taint.value ?? "")),
      );
      if (!tolerated) return `0/1 nodes are available: 1 node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`;
    }
    return null;
  }

  private setStatus(pod: Any, change: (status: Any, pod: Any) => void): Any | undefined {
    return this.store.mutate(PODS, pod.metadata.namespace, pod.metadata.name, (p) => {
      if ((p as Any).metadata.uid !== pod.metadata.uid) return;
      change(((p as Any).status ??= {}), p as Any);
    }) as Any | undefined;
  }

  private waitingStatus(pod: Any, reason: string, message?: string): void {
    const c = pod.spec.containers[0];
    this.setStatus(pod, (s) => {
      s.containerStatuses = [{ name: c.name, image: c.image, imageID: "", ready: false, started: false, restartCount: 0, state: { waiting: { reason, ...(message ? { message } : {}) } } }];
    });
  }

  /** Env values as the kubelet resolves them; a missing Secret or key is CreateContainerConfigError. */
  private resolveEnv(pod: Any, container: Any): string[] {
    const ns = pod.metadata.namespace;
    const env: string[] = [];
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env.push(`${e.name}=${e.value}`);
      else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const secret = this.store.get(SECRETS, ns, ref.name) as Any | undefined;
        if (!secret) {
          if (ref.optional) continue;
          throw new Error(`secret "${ref.name}" not found`);
        }
        const v = secret.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new Error(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
        }
        env.push(`${e.name}=${Buffer.from(v, "base64").toString("utf8")}`);
      } else if (e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.configMapKeyRef;
        const cm = this.store.get(CONFIGMAPS, ns, ref.name) as Any | undefined;
        if (!cm) throw new Error(`configmap "${ref.name}" not found`);
        env.push(`${e.name}=${cm.data?.[ref.key] ?? ""}`);
      } else if (e.valueFrom?.fieldRef) {
        const path: string = e.valueFrom.fieldRef.fieldPath;
        const value = path === "metadata.name" ? pod.metadata.name : path === "metadata.namespace" ? ns : path === "spec.nodeName" ? this.options.nodeName : path === "spec.serviceAccountName" ? pod.spec.serviceAccountName : "";
        env.push(`${e.name}=${value}`);
      } else env.push(`${e.name}=`);
    }
    // The kubelet always tells a container where the API server is.
    env.push(`KUBERNETES_SERVICE_HOST=${this.apiServer.host}`, `KUBERNETES_SERVICE_PORT=${this.apiServer.port}`);
    return env;
  }

  private async runPod(created: KubeObject): Promise<void> {
    const pod = created as Any;
    const run: PodRun = { volumes: join(this.root, "pods", pod.metadata.uid, "volumes"), waiting: "ContainerCreating" };
    this.pods.set(pod.metadata.uid, run);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        run.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const unschedulable = this.schedulable(pod);
    if (unschedulable) {
      const t = now();
      this.setStatus(pod, (s) => (s.conditions = [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: unschedulable, lastProbeTime: null, lastTransitionTime: t }]));
      return; // stays Pending, as a pod no node can take does
    }
    const t0 = now();
    this.store.mutate(PODS, pod.metadata.namespace, pod.metadata.name, (p) => {
      (p as Any).spec.nodeName = this.options.nodeName;
      (p as Any).status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: t0 }], hostIP: "127.0.0.1", startTime: t0 };
    });
    const container = pod.spec.containers[0];
    this.waitingStatus(pod, "ContainerCreating");
    const c: Any = container.securityContext ?? {};
    const p: Any = pod.spec.securityContext ?? {};
    let env: string[] = [];
    let pulls = 0;
    for (;;) {
      if (run.deleting || this.closed) return this.finishPod(pod, run);
      const imageUser = await engine.imageUser(container.image);
      if (imageUser === null) {
        // Nothing can be pulled here: an image that is not on this node never arrives (unless built meanwhile).
        const never = container.imagePullPolicy === "Never";
        const reason = never ? "ErrImageNeverPull" : pulls++ % 2 === 0 ? "ErrImagePull" : "ImagePullBackOff";
        const message = never
          ? `Container image "${container.image}" is not present with pull policy of Never`
          : reason === "ErrImagePull"
            ? `failed to pull and unpack image "${container.image}": failed to resolve reference "${container.image}": no registry is reachable from the stand-in's node`
            : `Back-off pulling image "${container.image}"`;
        this.waitingStatus(pod, reason, message);
        await sleep(500);
        continue;
      }
      const runAsUser = c.runAsUser ?? p.runAsUser;
      const runAsNonRoot = c.runAsNonRoot ?? p.runAsNonRoot;
      try {
        if (runAsNonRoot) {
          if (runAsUser === 0) throw new Error(`container's runAsUser breaks non-root policy (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${container.name})`);
          if (runAsUser === undefined) {
            const user = imageUser.split(":")[0]!;
            if (user === "" || user === "root" || user === "0") throw new Error(`container has runAsNonRoot and image will run as root (pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${container.name})`);
            if (!/^\d+$/.test(user)) throw new Error(`container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root`);
          }
        }
        env = this.resolveEnv(pod, container);
      } catch (error) {
        this.waitingStatus(pod, "CreateContainerConfigError", error instanceof Error ? error.message : String(error));
        await sleep(500);
        continue;
      }
      break;
    }
    // Volumes: each emptyDir a fresh directory under the pod (0777, owned by fsGroup with setgid, as the kubelet makes them).
    const binds: string[] = [];
    const volumeDirs = new Map<string, string>();
    for (const v of pod.spec.volumes ?? []) {
      if (v.emptyDir) {
        const dir = join(run.volumes, "kubernetes.io~empty-dir", v.name);
        mkdirSync(dir, { recursive: true });
        if (p.fsGroup !== undefined) chownSync(dir, 0, p.fsGroup);
        chmodSync(dir, p.fsGroup !== undefined ? 0o2777 : 0o777);
        volumeDirs.set(v.name, dir);
      }
    }
    for (const m of container.volumeMounts ?? []) {
      const dir = volumeDirs.get(m.name);
      if (dir) binds.push(`${dir}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
    }
    const sa = this.store.get(SERVICE_ACCOUNTS, pod.metadata.namespace, pod.spec.serviceAccountName) as Any | undefined;
    if (pod.spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true) {
      const dir = join(run.volumes, "kubernetes.io~projected", "kube-api-access");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "token"), `standin-sa-token.${pod.metadata.namespace}.${pod.spec.serviceAccountName}.${crypto.randomUUID()}`);
      writeFileSync(join(dir, "namespace"), pod.metadata.namespace);
      writeFileSync(join(dir, "ca.crt"), "");
      chmodSync(dir, 0o755);
      binds.push(`${dir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`);
    }
    const limits: Any = container.resources?.limits ?? {};
    const seccomp = (c.seccompProfile ?? p.seccompProfile)?.type;
    const securityOpt: string[] = [];
    if (c.allowPrivilegeEscalation === false) securityOpt.push("no-new-privileges:true");
    // Without a profile the kubelet's default is Unconfined (SeccompDefault off).
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") securityOpt.push("seccomp=unconfined");
    const runAsUser = c.runAsUser ?? p.runAsUser;
    const runAsGroup = c.runAsGroup ?? p.runAsGroup;
    const spec: ContainerCreate = {
      Image: container.image,
      ...(container.command ? { Entrypoint: container.command, Cmd: container.args ?? [] } : container.args ? { Cmd: container.args } : {}),
      Env: env,
      ...(runAsUser !== undefined ? { User: `${runAsUser}${runAsGroup !== undefined ? `:${runAsGroup}` : ""}` } : {}),
      ...(container.workingDir ? { WorkingDir: container.workingDir } : {}),
      Labels: { "io.kubernetes.pod.name": pod.metadata.name, "io.kubernetes.pod.namespace": pod.metadata.namespace, "io.kubernetes.pod.uid": pod.metadata.uid, "io.kubernetes.container.name": container.name, "reactorcide.kube-standin": this.instance },
      HostConfig: {
        Binds: binds,
        ReadonlyRootfs: c.readOnlyRootFilesystem === true,
        Privileged: c.privileged === true,
        CapDrop: c.capabilities?.drop ?? [],
        CapAdd: c.capabilities?.add ?? [],
        SecurityOpt: securityOpt,
        GroupAdd: [p.fsGroup, ...(p.supplementalGroups ?? [])].filter((g) => g !== undefined).map(String),
        ...(limits.memory ? { Memory: Math.floor(quantity(limits.memory)), MemorySwap: Math.floor(quantity(limits.memory)) } : {}),
        ...(limits.cpu ? { NanoCpus: Math.floor(quantity(limits.cpu) * 1e9) } : {}),
        PidsLimit: this.options.podPidsLimit,
        NetworkMode: "bridge",
      },
    };
    try {
      run.containerId = await engine.create(`k8s_${container.name}_${pod.metadata.name}_${pod.metadata.namespace}_${pod.metadata.uid.slice(0, 8)}_0`, spec);
      if (run.deleting) return this.finishPod(pod, run);
      await engine.start(run.containerId);
    } catch (error) {
      this.waitingStatus(pod, "CreateContainerError", error instanceof Error ? error.message : String(error));
      return;
    }
    const started = await engine.state(run.containerId);
    const ts = goNano(started.StartedAt).replace(/\.\d+Z$/, "Z");
    this.setStatus(pod, (s) => {
      s.phase = "Running";
      s.podIP = started.ip;
      s.conditions = [
        { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: t0 },
        { type: "Initialized", status: "True", lastProbeTime: null, lastTransitionTime: ts },
        { type: "ContainersReady", status: "True", lastProbeTime: null, lastTransitionTime: ts },
        { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: ts },
      ];
      s.containerStatuses = [{ name: container.name, image: container.image, imageID: "", containerID: `docker://${run.containerId}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: ts } } }];
    });
    this.jobPodRunning(pod);
    await engine.wait(run.containerId);
    const end = await engine.state(run.containerId);
    const exitCode = end.ExitCode;
    const reason = end.OOMKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
    this.setStatus(pod, (s) => {
      s.phase = exitCode === 0 ? "Succeeded" : "Failed";
      for (const cond of s.conditions ?? []) if (cond.type === "Ready" || cond.type === "ContainersReady") cond.status = "False";
      s.containerStatuses = [
        {
          name: container.name,
          image: container.image,
          imageID: "",
          containerID: `docker://${run.containerId}`,
          ready: false,
          started: false,
          restartCount: 0,
          state: { terminated: { exitCode, reason, startedAt: ts, finishedAt: goNano(end.FinishedAt).replace(/\.\d+Z$/, "Z"), containerID: `docker://${run.containerId}` } },
        },
      ];
    });
    run.stopped = true;
    this.podEnded(pod, exitCode === 0);
    if (run.deleting) await this.finishPod(pod, run);
  }

  private jobPodRunning(pod: Any): void {
    const owner = pod.metadata.ownerReferences?.find((r: Any) => r.kind === "Job" && r.controller);
    if (owner) this.store.mutate(JOBS, pod.metadata.namespace, owner.name, (j) => Object.assign(((j as Any).status ??= {}), { active: 1, ready: 1 }));
  }

  /** The pod is gone: its container and volumes removed, its object deleted. */
  private async finishPod(pod: Any, run: PodRun): Promise<void> {
    if (run.containerId) await engine.remove(run.containerId).catch(() => {});
    rmSync(join(this.root, "pods", pod.metadata.uid), { recursive: true, force: true });
    this.pods.delete(pod.metadata.uid);
    const current = this.store.get(PODS, pod.metadata.namespace, pod.metadata.name);
    if (current && current.metadata.uid === pod.metadata.uid) this.store.remove(PODS, pod.metadata.namespace, pod.metadata.name);
  }

  /** Graceful pod deletion: SIGTERM, the grace period, SIGKILL; the terminated status is reported before the pod goes. */
  private deletePod(pod: KubeObject, grace: number | undefined): KubeObject | undefined {
    const p = pod as Any;
    const seconds = grace ?? p.spec.terminationGracePeriodSeconds ?? 30;
    const run = this.pods.get(pod.metadata.uid);
    const updated = this.store.mutate(PODS, pod.metadata.namespace, pod.metadata.name, (o) => {
      o.metadata.deletionTimestamp ??= now();
      o.metadata.deletionGracePeriodSeconds = seconds;
    });
    if (!run) {
      this.store.remove(PODS, pod.metadata.namespace, pod.metadata.name);
      return undefined;
    }
    if (run.deleting) return updated;
    run.deleting = { grace: seconds };
    if (run.stopped || !run.containerId) {
      run.wake?.();
      if (run.stopped || !run.containerId) void this.finishPod(p, run);
    } else void engine.stop(run.containerId, seconds);
    return updated;
  }

  // ---- deletion and the garbage collector ----

  /** DELETE: returns the object when its deletion is still under way (graceful, foreground), else undefined. */
  delete(t: ResourceType, object: KubeObject, policy: "Orphan" | "Background" | "Foreground", grace: number | undefined): KubeObject | undefined {
    if (t === PODS) return this.deletePod(object, grace);
    const { namespace, name, uid } = object.metadata;
    const dependents = this.store.dependents(uid);
    if (policy === "Orphan") {
      for (const d of dependents) {
        this.store.mutate(d.t, d.object.metadata.namespace, d.object.metadata.name, (o) => {
          o.metadata.ownerReferences = o.metadata.ownerReferences?.filter((r) => r.uid !== uid);
        });
      }
      this.store.remove(t, namespace, name);
      return undefined;
    }
    if (policy === "Background") {
      this.store.remove(t, namespace, name);
      for (const d of dependents) this.delete(d.t, d.object, "Background", undefined);
      return undefined;
    }
    const updated = this.store.mutate(t, namespace, name, (o) => {
      o.metadata.deletionTimestamp ??= now();
      o.metadata.finalizers = [...new Set([...(o.metadata.finalizers ?? []), "foregroundDeletion"])];
    });
    this.foreground.set(uid, { t, namespace, name });
    for (const d of dependents) this.delete(d.t, d.object, "Background", grace);
    queueMicrotask(() => this.settleForeground());
    return updated;
  }

  private settleForeground(): void {
    for (const [uid, o] of this.foreground) {
      if (this.store.dependents(uid).length) continue;
      this.foreground.delete(uid);
      const current = this.store.get(o.t, o.namespace, o.name);
      if (current && current.metadata.uid === uid) this.store.remove(o.t, o.namespace, o.name);
    }
  }

  // ---- logs ----

  /** GET pods/{name}/log: the container's output as the kubelet serves it (timestamps RFC3339Nano, follow, sinceTime). */
  logResponse(namespace: string, name: string, q: URLSearchParams, signal: AbortSignal): Response {
    const pod = this.store.get(PODS, namespace, name) as Any | undefined;
    if (!pod) throw new StatusError(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" });
    const names: string[] = pod.spec.containers.map((c: Any) => c.name);
    const container = q.get("container") ?? (names.length === 1 ? names[0] : undefined);
    if (!container) throw new StatusError(400, "BadRequest", `a container name must be specified for pod ${name}, choose one of: [${names.join(" ")}]`);
    if (!names.includes(container)) throw new StatusError(400, "BadRequest", `container ${container} is not valid for pod ${name}`);
    const run = this.pods.get(pod.metadata.uid);
    if (!run?.containerId) {
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? "ContainerCreating";
      throw new StatusError(400, "BadRequest", `container "${container}" in pod "${name}" is waiting to start: ${waiting}`);
    }
    const follow = q.get("follow") === "true";
    const timestamps = q.get("timestamps") === "true";
    // The API server passes sinceTime on to the kubelet in whole seconds.
    const sinceRaw = q.get("sinceTime");
    const since = sinceRaw ? new Date(sinceRaw).toISOString().slice(0, 19) : "";
    const dropAfter = follow ? this.options.dropLogStreamsAfterMs : undefined;
    const abort = new AbortController();
    signal.addEventListener("abort", () => abort.abort());
    const id = run.containerId;
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        // Closed mid-follow, as a proxy or the API server's own timeout would.
        const drop = dropAfter
          ? setTimeout(() => {
              abort.abort();
              try {
                controller.close();
              } catch {
                // already closed
              }
            }, dropAfter)
          : undefined;
        try {
          for await (const line of engine.logs(id, follow, abort.signal)) {
            const space = line.indexOf(" ");
            const ts = line.slice(0, space);
            if (since && ts.slice(0, 19) < since) continue;
            controller.enqueue(encoder.encode(`${timestamps ? `${goNano(ts)} ` : ""}${line.slice(space + 1)}\n`));
          }
          controller.close();
        } catch (error) {
          try {
            // The container went meanwhile (pod deleted): the stream just ends.
            void error;
            controller.close();
          } catch {
            // already closed
          }
        } finally {
          clearTimeout(drop);
        }
      },
      cancel: () => abort.abort(),
    });
    return new Response(stream, { headers: { "content-type": "text/plain" } });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const run of this.pods.values()) if (run.containerId) await engine.remove(run.containerId).catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }
}
