/**
 * The coordinator over HTTP: the internal endpoints (/api/v1/internal, worker tokens only). Used
 * by remote workers and by `serve`'s own worker alike, so both take the same path.
 */
import type { ApiErrorBody, FoundTriggers, Heartbeat, Job, JobStart, JobStarted, LogBatch, StatusChange, TriggerOutcome } from "../../runner/protocol/index.ts";
import type { TriggerPayload } from "../../runner/protocol/trigger.ts";
import type { Coordinator, FinishReport, StartAnswer, StartRequest, TriggerSubmission, WorkerInfo, WorkerJob } from "./coordinator.ts";
import { LOG_CHUNK_CONTENT_TYPE } from "../../runner/protocol/log-chunk.ts";
import type { ShippedChunk } from "./logs/shipper.ts";

export class CoordinatorHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "CoordinatorHttpError";
  }
}

export class HttpCoordinator implements Coordinator {
  private readonly base: string;

  constructor(
    url: string,
    private readonly token: string,
  ) {
    if (!/^https?:\/\//.test(url)) throw new Error(`--coordinator: "${url}" is not an http(s) URL`);
    this.base = url.replace(/\/+$/, "") + "/api/v1/internal";
  }

  /** A request; `body` goes as JSON, or as it is when it is bytes of `contentType`. */
  private async call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; json: unknown }> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": contentType }) },
        body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
      });
    } catch (error) {
      throw new CoordinatorHttpError(0, `coordinator unreachable at ${this.base}: ${error instanceof Error ? error.message : error}`);
    }
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : null;
    return { status: response.status, json };
  }

  private fail(what: string, status: number, json: unknown): never {
    const message = (json as Partial<ApiErrorBody> | null)?.error?.message ?? `HTTP ${status}`;
    throw new CoordinatorHttpError(status, `${what}: ${message}`);
  }

  async getJob(jobId: string): Promise<WorkerJob | null> {
    const { status, json } = await this.call("GET", `/jobs/${encodeURIComponent(jobId)}`);
    if (status === 404) return null;
    if (status !== 200) this.fail(`reading job ${jobId}`, status, json);
    return json as Job;
  }

  private async status(jobId: string, body: StatusChange): Promise<boolean> {
    const { status, json } = await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/status`, body);
    if (status === 200) return true;
    if (status === 409) return false;
    this.fail(`setting job ${jobId} ${String(body.status)}`, status, json);
  }

  async start(jobId: string, request: StartRequest): Promise<StartAnswer> {
    const body: JobStart = { worker_id: request.workerId, image: request.image, ...(request.token ? { token: true } : {}) };
    const { status, json } = await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/start`, body);
    if (status === 404) return { kind: "gone" };
    if (status === 409) return { kind: "not_queued" };
    if (status !== 200) this.fail(`starting job ${jobId}`, status, json);
    const started = json as JobStarted;
    return {
      kind: "started",
      job: started.job,
      secrets: started.secrets,
      ...(started.secrets_error === undefined ? {} : { secretsError: started.secrets_error }),
      ...(started.token ? { access: { token: started.token.token } } : {}),
    };
  }

  finish(jobId: string, report: FinishReport): Promise<boolean> {
    return this.status(jobId, {
      status: report.status,
      reason: report.reason.slice(0, 2000),
      ...(report.exitCode === null ? {} : { exit_code: Math.max(-1, Math.min(255, report.exitCode)) }),
      ...(report.stepResults && { step_results: report.stepResults }),
    });
  }

  async appendLogChunk(jobId: string, chunk: ShippedChunk): Promise<void> {
    const { status, json } = await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/log-chunks?offset=${chunk.offset}&lines=${chunk.lines}`, chunk.packed, LOG_CHUNK_CONTENT_TYPE);
    if (status !== 200) this.fail(`shipping ${chunk.lines} log lines of job ${jobId}`, status, json);
  }

  async appendLogs(jobId: string, lines: LogBatch["lines"]): Promise<void> {
    const { status, json } = await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/logs`, { lines } satisfies LogBatch);
    if (status !== 200) this.fail(`shipping ${lines.length} log lines of job ${jobId}`, status, json);
  }

  async submitTriggers(jobId: string, via: "file" | "stdout", payload: TriggerPayload): Promise<TriggerSubmission> {
    const { status, json } = await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/triggers`, { via, payload } satisfies FoundTriggers);
    if (status === 201) {
      const outcome = json as TriggerOutcome;
      return { created: outcome.created, duplicates: outcome.duplicates };
    }
    const message = (json as Partial<ApiErrorBody> | null)?.error?.message ?? `HTTP ${status}`;
    if (status === 422 || status === 400) return { refused: message };
    this.fail(`submitting the triggers of job ${jobId}`, status, json);
  }

  async heartbeat(info: WorkerInfo): Promise<void> {
    const body: Heartbeat = { id: info.id, name: info.name, slots: info.capacity, labels: { running: String(info.running), runtime: info.runtime } };
    const { status, json } = await this.call("POST", "/workers/heartbeat", body);
    if (status !== 200) this.fail("heartbeat", status, json);
  }
}
