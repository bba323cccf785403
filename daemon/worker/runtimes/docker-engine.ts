/**
 * The Docker Engine API calls of the docker runtime, over the daemon's unix socket: is the image
 * here, create, attach, start and wait for a job's container (what `docker run` itself sends),
 * how did it end, remove it, stop it. Each costs a millisecond or two, where a `docker` CLI
 * process costs 15-100 ms on a loaded machine. The container's body comes from
 * runner/container/command.ts (engineCreateRequest), which also builds the CLI's argv, so the
 * hardening is defined in one place.
 */
import { existsSync } from "node:fs";
import type { EngineCreateRequest } from "../../../runner/container/command.ts";

export interface ContainerEnd {
  code: number;
  oomKilled: boolean;
}

/** Thrown when the socket does not answer; the caller falls back to the CLI. */
export class EngineUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineUnreachable";
  }
}

/** The engine answered, and said no (e.g. create: no such image; start: the runtime failed). */
export class EngineRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineRefused";
  }
}

function engineMessage(json: unknown): string {
  const message = (json as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : "no message";
}

export class DockerEngine {
  constructor(readonly socket: string) {}

  /**
   * The engine the `docker` CLI would talk to, when that is a local unix socket: DOCKER_HOST
   * unix://PATH, or /var/run/docker.sock when DOCKER_HOST and DOCKER_CONTEXT are unset. Null
   * otherwise (a remote or TLS daemon, another context): the CLI is used for everything then.
   */
  static local(env: Record<string, string | undefined> = process.env): DockerEngine | null {
    const host = env.DOCKER_HOST;
    if (env.DOCKER_CONTEXT) return null;
    const socket = host ? (host.startsWith("unix://") ? host.slice("unix://".length) : null) : "/var/run/docker.sock";
    return socket && existsSync(socket) ? new DockerEngine(socket) : null;
  }

  /** `long`: an answer that may take as long as the job (attach, wait), so no idle timeout (Bun's default is 5 min). */
  private async send(method: string, path: string, body?: unknown, long = false): Promise<Response> {
    try {
      return await fetch(`http://docker${path}`, {
        method,
        unix: this.socket,
        ...(long ? { timeout: false } : {}),
        ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new EngineUnreachable(`docker engine at ${this.socket}: ${error instanceof Error ? error.message : error}`);
    }
  }

  private async request(method: string, path: string, body?: unknown, long = false): Promise<{ status: number; json: unknown }> {
    const response = await this.send(method, path, body, long);
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (an error text): the status says enough.
    }
    return { status: response.status, json };
  }

  /** Creates the (stopped) container; its id. Refusals (no such image, a bad field) are EngineRefused. */
  async create(request: EngineCreateRequest): Promise<string> {
    const { status, json } = await this.request("POST", `/containers/create?name=${encodeURIComponent(request.name)}`, request.body);
    const id = (json as { Id?: unknown } | null)?.Id;
    if (status === 201 && typeof id === "string") return id;
    throw new EngineRefused(`docker engine refused to create the container (${status}): ${engineMessage(json)}`);
  }

  /**
   * The container's stdout and stderr as Docker's multiplexed stream (docker-stream.ts), from its
   * start until it exits; attach before `start` so nothing is missed.
   */
  async attach(id: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send("POST", `/containers/${encodeURIComponent(id)}/attach?stream=1&stdout=1&stderr=1`, undefined, true);
    if (response.status !== 200 || !response.body) {
      throw new EngineRefused(`docker engine refused to attach (${response.status}): ${await response.text().catch(() => "")}`);
    }
    return response.body;
  }

  async start(id: string): Promise<void> {
    const { status, json } = await this.request("POST", `/containers/${encodeURIComponent(id)}/start`);
    if (status !== 204 && status !== 304) throw new EngineRefused(`docker engine could not start the container (${status}): ${engineMessage(json)}`);
  }

  /** Resolves when the container is not running (at once if it has already exited). */
  async wait(id: string): Promise<void> {
    const { status, json } = await this.request("POST", `/containers/${encodeURIComponent(id)}/wait?condition=not-running`, undefined, true);
    if (status !== 200) throw new EngineRefused(`docker engine: waiting for the container answered ${status}: ${engineMessage(json)}`);
  }

  async imageExists(image: string): Promise<boolean> {
    const { status } = await this.request("GET", `/images/${encodeURIComponent(image)}/json`);
    if (status === 200) return true;
    if (status === 404) return false;
    throw new EngineUnreachable(`docker engine: image inspect answered ${status}`);
  }

  /** Exit code and OOM kill of a stopped container; null when there is no such container. */
  async containerEnd(name: string): Promise<ContainerEnd | null> {
    const { status, json } = await this.request("GET", `/containers/${encodeURIComponent(name)}/json`);
    if (status === 404) return null;
    if (status !== 200) throw new EngineUnreachable(`docker engine: container inspect answered ${status}`);
    const state = (json as { State?: { ExitCode?: unknown; OOMKilled?: unknown } } | null)?.State;
    if (typeof state?.ExitCode !== "number") throw new EngineUnreachable("docker engine: container inspect had no exit code");
    return { code: state.ExitCode, oomKilled: state.OOMKilled === true };
  }

  /** Removes the container (killing it if it runs) with its anonymous volumes; nothing there is fine. */
  async remove(name: string): Promise<void> {
    const { status } = await this.request("DELETE", `/containers/${encodeURIComponent(name)}?force=1&v=1`);
    // 409: a removal already in progress (ours from another path); it finishes on its own.
    if (status !== 204 && status !== 404 && status !== 409) throw new EngineUnreachable(`docker engine: container remove answered ${status}`);
  }

  /** SIGTERM, then SIGKILL after `seconds`; resolves when the container has stopped. */
  async stop(name: string, seconds: number): Promise<void> {
    const { status } = await this.request("POST", `/containers/${encodeURIComponent(name)}/stop?t=${Math.max(0, Math.ceil(seconds))}`);
    if (status !== 204 && status !== 304 && status !== 404) throw new EngineUnreachable(`docker engine: container stop answered ${status}`);
  }
}
