import { EventSourceParserStream } from "eventsource-parser/stream";
import type { ApiErrorBody, Job, JobList, JobStatus, JobSubmit, LogEndEvent, LogLineEvent, LogStreamName, WorkflowRunList, WorkflowRunStatus, WorkflowRunView, WorkflowSubmit } from "../../runner/protocol/index.ts";
import { loadConfig, type ClientConfig } from "./config.ts";

export class ClientError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The public API over HTTP, for the CLI's client commands. */
export class ApiClient {
  readonly base: string;

  constructor(readonly config: ClientConfig) {
    this.base = config.url.replace(/\/+$/, "");
  }

  static async fromConfig(): Promise<ApiClient> {
    const config = await loadConfig();
    if (!config) throw new ClientError(0, "not logged in: run `reactorcide login --url URL --token TOKEN` (or set REACTORCIDE_URL and REACTORCIDE_TOKEN)");
    return new ApiClient(config);
  }

  private async send(method: string, path: string, body?: unknown, accept = "application/json"): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.config.token}`,
          accept,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ClientError(0, `cannot reach ${this.base}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!response.ok) {
      const text = await response.text();
      let parsed: Partial<ApiErrorBody> = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // not our error shape (a proxy, say): the status says enough
      }
      throw new ClientError(response.status, parsed.error?.message ?? `HTTP ${response.status}`, parsed.error?.field);
    }
    return response;
  }

  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, body)).json()) as T;
  }

  /** POST /api/v1/jobs: the body as the contract's JobSubmitSchema, the job as its JobSchema. */
  submitJob(body: JobSubmit): Promise<Job> {
    return this.json<Job>("POST", "/api/v1/jobs", body);
  }

  getJob(id: string): Promise<Job> {
    return this.json<Job>("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
  }

  listJobs(filter: { project?: string; status?: JobStatus | string; name?: string; limit?: number; offset?: number } = {}): Promise<JobList> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    return this.json<JobList>("GET", `/api/v1/jobs?${query}`);
  }

  /** POST /api/v1/jobs/{id}/cancel or /retry. */
  jobAction(id: string, action: "cancel" | "retry"): Promise<Job> {
    return this.json<Job>("POST", `/api/v1/jobs/${encodeURIComponent(id)}/${action}`);
  }

  /** POST /api/v1/workflows: the body as the contract's WorkflowSubmitSchema, the run as its WorkflowRunSchema. */
  submitWorkflow(body: WorkflowSubmit): Promise<WorkflowRunView> {
    return this.json<WorkflowRunView>("POST", "/api/v1/workflows", body);
  }

  getWorkflow(id: string): Promise<WorkflowRunView> {
    return this.json<WorkflowRunView>("GET", `/api/v1/workflows/${encodeURIComponent(id)}`);
  }

  listWorkflows(filter: { project?: string; status?: WorkflowRunStatus | string; limit?: number; offset?: number } = {}): Promise<WorkflowRunList> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    return this.json<WorkflowRunList>("GET", `/api/v1/workflows?${query}`);
  }

  /** POST /api/v1/workflows/{id}/cancel, /retry or /retry-failed. */
  workflowAction(id: string, action: "cancel" | "retry" | "retry-failed" | "approve" | "decline"): Promise<WorkflowRunView> {
    return this.json<WorkflowRunView>("POST", `/api/v1/workflows/${encodeURIComponent(id)}/${action}`);
  }

  async text(path: string): Promise<string> {
    return (await this.send("GET", path, undefined, "text/plain")).text();
  }

  /** A text response's lines (without "\n"), read as they arrive. */
  async *lines(path: string): AsyncGenerator<string> {
    const response = await this.send("GET", path, undefined, "text/plain");
    let rest = "";
    for await (const text of response.body!.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      yield* parts;
    }
    if (rest) yield rest;
  }

  /** Follows a job's log (SSE); calls onLine per line and resolves with the end event's data. */
  async follow(jobId: string, onLine: (line: string, stream: LogStreamName) => void): Promise<LogEndEvent> {
    const response = await this.send("GET", `/api/v1/jobs/${encodeURIComponent(jobId)}/logs?follow=true`, undefined, "text/event-stream");
    const events = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    for await (const event of events) {
      if (event.event === "line") {
        const data = JSON.parse(event.data) as LogLineEvent;
        onLine(data.line, data.stream);
      } else if (event.event === "end") {
        return JSON.parse(event.data) as LogEndEvent;
      }
    }
    throw new ClientError(0, "the log stream ended before the job did");
  }
}
