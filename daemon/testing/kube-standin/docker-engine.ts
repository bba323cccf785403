/**
 * The few Docker Engine API calls the stand-in's kubelet makes, over the engine's Unix socket (the
 * same API the docker CLI speaks). Env values travel in the request body, never on a command line.
 */
const SOCKET = process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice(7) : "/var/run/docker.sock";

export interface ContainerCreate {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  User?: string;
  WorkingDir?: string;
  Labels: Record<string, string>;
  HostConfig: Record<string, unknown>;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  OOMKilled: boolean;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
}

async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`http://docker/v1.41${path}`, {
    method,
    unix: SOCKET,
    signal,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  } as RequestInit);
}

async function ok(response: Response, what: string): Promise<Response> {
  if (response.status >= 300) throw new Error(`docker ${what}: ${response.status} ${(await response.text()).trim()}`);
  return response;
}

export const engine = {
  async imageUser(image: string): Promise<string | null> {
    const r = await call("GET", `/images/${encodeURIComponent(image)}/json`);
    if (r.status === 404) {
      await r.text();
      return null;
    }
    const info = (await (await ok(r, "image inspect")).json()) as { Config?: { User?: string } };
    return info.Config?.User ?? "";
  },
  async create(name: string, spec: ContainerCreate): Promise<string> {
    const r = await ok(await call("POST", `/containers/create?name=${encodeURIComponent(name)}`, spec), "create");
    return ((await r.json()) as { Id: string }).Id;
  },
  async start(id: string): Promise<void> {
    await (await ok(await call("POST", `/containers/${id}/start`), "start")).text();
  },
  async wait(id: string): Promise<void> {
    await (await ok(await call("POST", `/containers/${id}/wait`), "wait")).text();
  },
  async state(id: string): Promise<ContainerState & { ip: string }> {
    const info = (await (await ok(await call("GET", `/containers/${id}/json`), "inspect")).json()) as { State: ContainerState; NetworkSettings?: { IPAddress?: string } };
    return { ...info.State, ip: info.NetworkSettings?.IPAddress ?? "" };
  },
  async stop(id: string, graceSeconds: number): Promise<void> {
    const r = await call("POST", `/containers/${id}/stop?t=${Math.max(0, Math.floor(graceSeconds))}`);
    await r.text();
  },
  async remove(id: string): Promise<void> {
    const r = await call("DELETE", `/containers/${id}?force=1&v=1`);
    await r.text();
  },
  /** The container's output as timestamped lines (docker's RFC3339Nano), stdout and stderr merged as the kubelet does. */
  async *logs(id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<string> {
    const r = await ok(await call("GET", `/containers/${id}/logs?stdout=1&stderr=1&timestamps=1&follow=${follow ? 1 : 0}`, undefined, signal), "logs");
    if (!r.body) return;
    // Without a TTY the stream is multiplexed: 8-byte headers (stream, 0, 0, 0, size big-endian), then the payload.
    let buffer = new Uint8Array(0);
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of r.body) {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      while (buffer.length >= 8) {
        const size = new DataView(buffer.buffer, buffer.byteOffset).getUint32(4);
        if (buffer.length < 8 + size) break;
        text += decoder.decode(buffer.subarray(8, 8 + size), { stream: true });
        buffer = buffer.slice(8 + size);
      }
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        yield text.slice(0, nl);
        text = text.slice(nl + 1);
      }
    }
    if (text) yield text;
  },
};
