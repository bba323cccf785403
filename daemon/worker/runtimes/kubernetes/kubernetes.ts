/**
 * The kubernetes runtime: each CI job a hardened batch/v1 Job in the jobs namespace, its env and
 * secrets in a Secret the Job owns, its output followed from the pod's log, its end read from the
 * container's status. The worker needs only the Role in permissions.ts.
 */
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1ContainerStateTerminated, type V1Job, type V1Pod } from "@kubernetes/client-node";
import { IMAGE_DESCRIPTION, IMAGE_PATTERN } from "../../../../runner/protocol/index.ts";
import { InfrastructureError, RefusedError, type Exit, type RunningJob, type Runtime, type RunSpec } from "../runtime.ts";
import { CONTAINER_NAME, JOB_ID_LABEL, WORKER_LABEL, buildJob, buildSecret, labelValue, secretNameOf, secretContent, type KubernetesJobSettings } from "./objects.ts";
import { followLog, watchOnce } from "./streams.ts";
import { apiClient } from "./transport.ts";

const IMAGE_REF = new RegExp(IMAGE_PATTERN);

export interface KubernetesRuntimeOptions extends KubernetesJobSettings {
  kubeConfig: KubeConfig;
  /** Seconds a pod may take to start (pulling, scheduling) before the job ends `error`. */
  startTimeoutSeconds: number;
  /** Pause between reconnects of a dropped watch or log stream. */
  retryMs?: number;
}

/** Waiting reasons after which a container will not start without someone changing something. */
const NEVER_STARTS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError"]);

/** The status code and message of a client-node ApiException (its body is the API's Status). */
function apiError(error: unknown): { code: number; message: string } {
  const e = error as { code?: number; body?: unknown; message?: string };
  let message = e.message ?? String(error);
  if (typeof e.body === "string") {
    try {
      message = (JSON.parse(e.body) as { message?: string }).message ?? message;
    } catch {
      // not JSON
    }
  } else if (e.body && typeof e.body === "object" && "message" in e.body) message = String((e.body as { message: unknown }).message);
  return { code: typeof e.code === "number" ? e.code : 0, message };
}

export class KubernetesRuntime implements Runtime {
  readonly name = "kubernetes";
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;

  constructor(private readonly options: KubernetesRuntimeOptions) {
    this.batch = apiClient(options.kubeConfig, BatchV1Api);
    this.core = apiClient(options.kubeConfig, CoreV1Api);
  }

  private get server(): string {
    return this.options.kubeConfig.getCurrentCluster()?.server ?? "(no cluster)";
  }

  async preflight(spec: RunSpec): Promise<void> {
    if (!IMAGE_REF.test(spec.image)) throw new RefusedError(`image: ${JSON.stringify(spec.image)} is not ${IMAGE_DESCRIPTION}`);
    try {
      await this.batch.listNamespacedJob({ namespace: this.options.namespace, limit: 1 });
    } catch (error) {
      const { code, message } = apiError(error);
      throw new InfrastructureError(`the Kubernetes API at ${this.server} refused listing Jobs in namespace ${this.options.namespace}${code ? ` (${code})` : ""}: ${message}`);
    }
  }

  async start(spec: RunSpec): Promise<RunningJob> {
    await this.remove(spec.jobId);
    const settings = this.options;
    // Built first, so a job the Secret cannot carry is refused before anything is created.
    secretContent(spec);
    const job = buildJob(spec, settings);
    let created: V1Job;
    try {
      created = await this.batch.createNamespacedJob({ namespace: settings.namespace, body: job });
    } catch (error) {
      const { code, message } = apiError(error);
      throw new InfrastructureError(`creating the Job failed${code ? ` (${code})` : ""}: ${message}`);
    }
    const name = created.metadata!.name!;
    const uid = created.metadata!.uid!;
    try {
      const body = buildSecret(spec, settings, { name, uid });
      await this.core.createNamespacedSecret({ namespace: settings.namespace, body });
    } catch (error) {
      await this.deleteJob(name).catch(() => {});
      const { code, message } = apiError(error);
      throw new InfrastructureError(`creating the job's Secret failed${code ? ` (${code})` : ""}: ${message}`);
    }
    return new KubernetesJobRun(this.options, this.batch, this.core, name, uid, secretNameOf(name)).running();
  }

  private async deleteJob(name: string, graceSeconds?: number, propagationPolicy: "Foreground" | "Background" = "Background"): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace: this.options.namespace, propagationPolicy, gracePeriodSeconds: graceSeconds });
    } catch (error) {
      if (apiError(error).code !== 404) throw error;
    }
  }

  async remove(jobId: string): Promise<void> {
    const list = await this.batch.listNamespacedJob({ namespace: this.options.namespace, labelSelector: `${JOB_ID_LABEL}=${labelValue(jobId)}` });
    for (const job of list.items) {
      const name = job.metadata!.name!;
      await this.deleteJob(name, 0);
      // Owned by the Job, so Kubernetes removes it too; deleted here so it goes now.
      await this.core.deleteNamespacedSecret({ name: secretNameOf(name), namespace: this.options.namespace }).catch(() => {});
    }
  }

  async leftovers(): Promise<string[]> {
    const list = await this.batch.listNamespacedJob({ namespace: this.options.namespace, labelSelector: `${WORKER_LABEL}=${labelValue(this.options.worker)}` });
    return [...new Set(list.items.map((j) => j.metadata?.labels?.[JOB_ID_LABEL]).filter((id): id is string => !!id))];
  }
}

/** One started Job: its pod watched, its log followed, its end read, then the Job and Secret removed. */
class KubernetesJobRun {
  private readonly abort = new AbortController();
  private terminated: V1ContainerStateTerminated | undefined;
  private podGone = false;
  private pod: string | undefined;
  private following: Promise<void> | undefined;
  private waiting = "";
  private failure: InfrastructureError | undefined;
  private wake = () => {};
  private readonly encoder = new TextEncoder();
  private out!: ReadableStreamDefaultController<Uint8Array>;

  constructor(
    private readonly options: KubernetesRuntimeOptions,
    private readonly batch: BatchV1Api,
    private readonly core: CoreV1Api,
    private readonly jobName: string,
    private readonly jobUid: string,
    private readonly secret: string,
  ) {}

  running(): RunningJob {
    const stdout = new ReadableStream<Uint8Array>({ start: (c) => void (this.out = c) });
    // The pod log API merges stdout and stderr into one stream.
    const stderr = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return {
      stdout,
      stderr,
      exited: this.run(),
      stop: async (graceSeconds: number) => {
        // Foreground: the Job goes once its pod has; the pod gets SIGTERM, then SIGKILL after the grace period.
        await this.batch
          .deleteNamespacedJob({ name: this.jobName, namespace: this.options.namespace, propagationPolicy: "Foreground", gracePeriodSeconds: Math.max(0, Math.ceil(graceSeconds)) })
          .catch(() => {});
      },
    };
  }

  private started(): boolean {
    return this.terminated !== undefined || this.following !== undefined;
  }

  private async run(): Promise<Exit> {
    const watching = this.watchPods();
    const startTimer = setTimeout(() => {
      if (this.started()) return;
      const why = this.waiting || "no pod was created for the Job";
      this.fail(`the Job's pod did not start within ${this.options.startTimeoutSeconds} s: ${why}`);
    }, this.options.startTimeoutSeconds * 1000);
    try {
      while (!this.failure && !this.terminated && !this.podGone) await new Promise<void>((r) => (this.wake = r));
      if (this.failure) throw this.failure;
      await this.following;
      const deadline = await this.deadlineExceeded();
      const t = this.terminated;
      return { code: t?.exitCode ?? 137, oomKilled: t?.reason === "OOMKilled", ...(deadline ? { deadlineExceeded: true } : {}) };
    } finally {
      clearTimeout(startTimer);
      this.abort.abort();
      await watching;
      try {
        this.out.close();
      } catch {
        // already closed
      }
      await this.cleanUp();
    }
  }

  private fail(message: string): void {
    this.failure ??= new InfrastructureError(message);
    this.wake();
  }

  private async deadlineExceeded(): Promise<boolean> {
    try {
      const job = await this.batch.readNamespacedJob({ name: this.jobName, namespace: this.options.namespace });
      return !!job.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True" && c.reason === "DeadlineExceeded");
    } catch {
      return false;
    }
  }

  private async cleanUp(): Promise<void> {
    const namespace = this.options.namespace;
    await this.core.deleteNamespacedSecret({ name: this.secret, namespace }).catch(() => {});
    await this.batch.deleteNamespacedJob({ name: this.jobName, namespace, propagationPolicy: "Background" }).catch(() => {});
  }

  /** Watches the Job's pod (by controller-uid) until the run ends, reconnecting when the stream drops. */
  private async watchPods(): Promise<void> {
    const path = `/api/v1/namespaces/${this.options.namespace}/pods`;
    const query = { labelSelector: `controller-uid=${this.jobUid}` };
    let seen = false;
    while (!this.abort.signal.aborted) {
      let present = false;
      try {
        for await (const event of watchOnce<V1Pod>(this.options.kubeConfig, path, query, this.abort.signal)) {
          if (event.type === "ERROR" || event.type === "BOOKMARK") continue;
          if (event.type === "DELETED") {
            this.podGone = true;
            this.wake();
            continue;
          }
          seen = present = true;
          this.onPod(event.object);
        }
      } catch {
        if (this.abort.signal.aborted) return;
      }
      // A reconnect lists what exists first; a pod we saw that is no longer there is gone.
      if (seen && !present && !this.terminated) {
        this.podGone = true;
        this.wake();
      }
      await Bun.sleep(this.options.retryMs ?? 200);
    }
  }

  private onPod(pod: V1Pod): void {
    this.pod ??= pod.metadata?.name;
    const status = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME);
    const state = status?.state;
    if (state?.waiting?.reason) {
      const { reason, message = "" } = state.waiting;
      this.waiting = `${reason}: ${message}`.trim();
      // The Secret is created just after the Job: a pod that looked for it first is retried by the kubelet.
      const secretPending = reason === "CreateContainerConfigError" && message.includes(this.secret);
      if (NEVER_STARTS.has(reason) && !secretPending) this.fail(`the job's container cannot start: ${this.waiting}`);
    }
    const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
    if (unscheduled && !status) this.waiting = `${unscheduled.reason ?? "Unschedulable"}: ${unscheduled.message ?? ""}`.trim();
    if ((state?.running || state?.terminated) && !this.following && this.pod) {
      this.following = followLog({
        kc: this.options.kubeConfig,
        namespace: this.options.namespace,
        pod: this.pod,
        container: CONTAINER_NAME,
        ended: () => this.terminated !== undefined || this.podGone,
        onLine: (text) => this.out.enqueue(this.encoder.encode(`${text}\n`)),
        signal: this.abort.signal,
        retryMs: this.options.retryMs,
      });
    }
    if (state?.terminated) {
      this.terminated = state.terminated;
      this.wake();
    }
  }
}
