import type { TriggerPayload } from "../../../runner/protocol/trigger.ts";
import type { Coordinator, FinishReport, JobStatus, StartAnswer, StartRequest, TriggerSubmission, WorkerInfo, WorkerJob } from "../coordinator.ts";
import type { LogStreamName } from "../../../runner/protocol/log-line.ts";
import type { LogBatch } from "../../../runner/protocol/worker-api.ts";
import { chunkLines } from "../logs/chunk-lines.ts";
import type { ShippedChunk } from "../logs/shipper.ts";

/** A line as this coordinator keeps it. */
export interface HeldLine {
  stream: LogStreamName;
  line: string;
}

/**
 * A coordinator held in memory with the same guarded status machine as the real one
 * (queued → running → one terminal state, recorded once). For lifecycle tests that should not
 * depend on the HTTP API; the end-to-end tests use the real daemon.
 */
export class MemoryCoordinator implements Coordinator {
  readonly jobs = new Map<string, WorkerJob>();
  readonly logs = new Map<string, HeldLine[]>();
  readonly secretValues = new Map<string, Record<string, string>>();
  readonly finishes: { jobId: string; report: FinishReport }[] = [];
  readonly workers = new Map<string, WorkerInfo>();
  /** Triggers received, each (job, operation, job name) once, as the real coordinator keeps them. */
  readonly triggers: { jobId: string; via: string; operationId: string; jobName: string }[] = [];

  add(job: Partial<WorkerJob> & Pick<WorkerJob, "command">, secrets: Record<string, string> = {}): WorkerJob {
    const full: WorkerJob = {
      id: crypto.randomUUID(),
      project_id: crypto.randomUUID(),
      name: "test",
      status: "queued",
      priority: 0,
      timeout: 3600,
      attempt: 1,
      retry_of: null,
      image: null,
      env: {},
      secrets: Object.keys(secrets),
      secret_env: [],
      source: null,
      ci_source: null,
      resources: null,
      steps: null,
      step_results: null,
      network: "default",
      retries: 0,
      untrusted: false,
      exit_code: null,
      reason: null,
      worker_id: null,
      parent_job_id: null,
      workflow_run_id: null,
      log_lines: 0,
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      ...job,
    };
    this.jobs.set(full.id, full);
    this.secretValues.set(full.id, secrets);
    return full;
  }

  cancel(jobId: string): void {
    this.transition(jobId, ["queued", "running"], "cancelled");
  }

  text(jobId: string): string {
    return (this.logs.get(jobId) ?? []).map((l) => l.line).join("\n");
  }

  private transition(jobId: string, from: JobStatus[], to: JobStatus): boolean {
    const job = this.jobs.get(jobId);
    if (!job || !from.includes(job.status)) return false;
    job.status = to;
    return true;
  }

  async getJob(jobId: string) {
    const job = this.jobs.get(jobId);
    return job ? { ...job } : null;
  }
  async start(jobId: string, request: StartRequest): Promise<StartAnswer> {
    const job = this.jobs.get(jobId);
    if (!job) return { kind: "gone" };
    if (!this.transition(jobId, ["queued"], "running")) return { kind: "not_queued" };
    Object.assign(job, { worker_id: request.workerId, image: job.image ?? request.image, started_at: new Date().toISOString() });
    return {
      kind: "started",
      job: { ...job },
      secrets: this.secretValues.get(jobId) ?? {},
      ...(request.token ? { access: { token: `rcd_memory_${jobId}` } } : {}),
    };
  }
  /** The worker's lines held per job, by its count (as the real coordinator's log_shipped). */
  readonly shipped = new Map<string, number>();
  async appendLogChunk(jobId: string, chunk: ShippedChunk) {
    const held = this.shipped.get(jobId) ?? 0;
    if (chunk.offset > held) throw Object.assign(new Error(`a chunk at offset ${chunk.offset} would leave a gap after ${held} lines`), { status: 409 });
    const lines = chunkLines(chunk).slice(held - chunk.offset);
    this.shipped.set(jobId, held + lines.length);
    this.logs.set(jobId, [...(this.logs.get(jobId) ?? []), ...lines.map(({ stream, line }) => ({ stream, line }))]);
  }
  async appendLogs(jobId: string, lines: LogBatch["lines"]) {
    this.logs.set(jobId, [...(this.logs.get(jobId) ?? []), ...lines.map(({ stream, line }) => ({ stream: stream ?? "stdout", line }))]);
  }
  async finish(jobId: string, report: FinishReport) {
    const ok = this.transition(jobId, ["running"], report.status);
    if (ok) this.finishes.push({ jobId, report });
    return ok;
  }
  async submitTriggers(jobId: string, via: "file" | "stdout", payload: TriggerPayload): Promise<TriggerSubmission> {
    const created: string[] = [];
    for (const job of payload.jobs) {
      if (this.triggers.some((t) => t.jobId === jobId && t.operationId === payload.operation_id && t.jobName === job.job_name)) continue;
      this.triggers.push({ jobId, via, operationId: payload.operation_id, jobName: job.job_name });
      created.push(job.job_name);
    }
    return { created, duplicates: payload.jobs.length - created.length };
  }
  async heartbeat(info: WorkerInfo) {
    this.workers.set(info.id, info);
  }
}
