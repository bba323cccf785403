/**
 * The few Docker Engine API calls the docker runtime makes around a job's `docker run`: is the
 * image here, how did the container end, remove it, stop it. Over the daemon's unix socket they
 * cost a millisecond or two each, where a `docker` CLI process costs 30-100 ms on a loaded machine
 * (a trivial job made three of them besides its run). The run itself stays the CLI's, built by
 * runner/container/command.ts, so the hardening is defined in one place.
 */
import { existsSync } from "node:fs";

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

  private async request(method: string, path: string): Promise<{ status: number; json: unknown }> {
    let response: Response;
    try {
      response = await fetch(`http://docker${path}`, { method, unix: this.socket });
    } catch (error) {
      throw new EngineUnreachable(`docker engine at ${this.socket}: ${error instanceof Error ? error.message : error}`);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (an error text): the status says enough.
    }
    return { status: response.status, json };
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
