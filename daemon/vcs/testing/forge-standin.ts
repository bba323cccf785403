/**
 * What the GitHub and GitLab stand-ins share: real HTTP on 127.0.0.1, every call recorded, a token
 * that must match, and switches a test flips to make the forge down (503) or rate-limiting (429
 * with Retry-After) for a while.
 */
export interface RecordedCall {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: any;
  /** What the stand-in answered. */
  status: number;
  at: number;
}

export interface StandInControls {
  url: string;
  calls: RecordedCall[];
  /** Answer 503 to everything while true. */
  down: boolean;
  /** Answer the next N calls 429 with this Retry-After (seconds). */
  rateLimit(times: number, retryAfterSeconds: number): void;
  stop(): void;
}

export interface Handler {
  (call: { method: string; path: string; query: URLSearchParams; body: any; headers: Headers }): { status: number; body?: unknown } | undefined;
}

export function startStandIn(options: { authorized(headers: Headers): boolean; handle: Handler; unknown: (method: string, path: string) => { status: number; body: unknown } }): StandInControls {
  const controls: StandInControls = {
    url: "",
    calls: [],
    down: false,
    rateLimit(times, retryAfterSeconds) {
      limited = { times, retryAfterSeconds };
    },
    stop: () => server.stop(true),
  };
  let limited = { times: 0, retryAfterSeconds: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const text = await request.text();
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      const answer = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
        controls.calls.push({ method: request.method, path: url.pathname, query: url.search, headers, body, status, at: Date.now() });
        return Response.json(payload, { status, headers: extra });
      };
      if (controls.down) return answer(503, { message: "Service Unavailable" });
      if (limited.times > 0) {
        limited.times--;
        return answer(429, { message: "API rate limit exceeded" }, { "retry-after": String(limited.retryAfterSeconds) });
      }
      if (!options.authorized(request.headers)) return answer(401, { message: "Bad credentials" });
      const result = options.handle({ method: request.method, path: url.pathname, query: url.searchParams, body, headers: request.headers });
      if (!result) {
        const u = options.unknown(request.method, url.pathname);
        return answer(u.status, u.body);
      }
      return answer(result.status, result.body ?? {});
    },
  });
  controls.url = `http://127.0.0.1:${server.port}`;
  return controls;
}
