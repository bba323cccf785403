/**
 * The two streaming calls of the kubernetes runtime: a `watch=true` event stream and a followed
 * container log that survives dropped connections without losing or repeating a line.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { kubeFetch } from "./transport.ts";

/** Lines of a response body, the last one even without a newline. */
export async function* bodyLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of body) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** One watch connection's events (`?watch=true`); ends when the server or `signal` closes it. */
export async function* watchOnce<T>(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
  const response = await kubeFetch(kc, `${path}?${new URLSearchParams({ ...query, watch: "true" })}`, { signal });
  if (!response.ok || !response.body) throw new Error(`watch ${path}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  for await (const line of bodyLines(response.body)) {
    if (line.trim()) yield JSON.parse(line) as WatchEvent<T>;
  }
}

/**
 * An RFC 3339 timestamp as a key that sorts by time: Kubernetes writes RFC3339Nano with trailing
 * zeros trimmed ("…:05.1Z" and "…:05.123456789Z"), which do not compare as strings.
 */
export function timestampKey(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return "";
  const utc = m[3] === "Z" ? m[1]! : new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${utc}.${(m[2] ?? "").padEnd(9, "0")}`;
}

export interface LogFollowOptions {
  kc: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
  /** True once the container has ended (or the pod is gone): the next read is the last. */
  ended: () => boolean;
  onLine: (text: string) => void;
  signal: AbortSignal;
  /** Pause between reconnects. */
  retryMs?: number;
}

/**
 * Follows a container's log from its start (`follow=true&timestamps=true`). A stream that drops
 * is resumed from the last line's second (`sinceTime`, which the API server truncates to seconds)
 * and the lines already seen are skipped by timestamp and count, so none is lost or repeated. After
 * the container ends one more read without follow takes whatever the last stream missed.
 */
export async function followLog(options: LogFollowOptions): Promise<void> {
  const { kc, namespace, pod, container, signal } = options;
  const retryMs = options.retryMs ?? 200;
  let lastTs = "";
  let lastKey = "";
  let seenAtLast = 0;
  while (!signal.aborted) {
    const final = options.ended();
    const query = new URLSearchParams({ container, timestamps: "true" });
    if (!final) query.set("follow", "true");
    if (lastTs) query.set("sinceTime", `${lastKey.slice(0, 19)}Z`);
    let response: Response;
    try {
      response = await kubeFetch(kc, `/api/v1/namespaces/${namespace}/pods/${pod}/log?${query}`, { signal });
    } catch {
      if (signal.aborted) return;
      await Bun.sleep(retryMs);
      continue;
    }
    if (response.status === 404) return; // the pod is gone, and its log with it
    if (!response.ok || !response.body) {
      // 400: the container is still waiting to start.
      await response.text().catch(() => "");
      if (final) return;
      await Bun.sleep(retryMs);
      continue;
    }
    let skip = seenAtLast;
    try {
      for await (const raw of bodyLines(response.body)) {
        const space = raw.indexOf(" ");
        const ts = space > 0 ? raw.slice(0, space) : raw;
        const key = timestampKey(ts);
        if (!key) continue;
        if (key < lastKey) continue;
        if (key === lastKey && skip > 0) {
          skip--;
          continue;
        }
        if (key === lastKey) seenAtLast++;
        else {
          lastKey = key;
          lastTs = ts;
          seenAtLast = 1;
          skip = 0;
        }
        options.onLine(space > 0 ? raw.slice(space + 1) : "");
      }
    } catch {
      // Dropped mid-stream: resume.
    }
    if (final) return;
    await Bun.sleep(Math.min(retryMs, 100));
  }
}
