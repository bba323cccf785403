/**
 * A local stand-in for an S3 service, for tests only: the two REST calls Bun's S3 client makes
 * for whole objects (PUT and GET `/<bucket>/<key>`), answering like S3 (404 NoSuchKey XML), and
 * refusing any request without a SigV4 Authorization header for the expected access key.
 */
export interface S3StandIn {
  endpoint: string;
  objects: Map<string, Uint8Array>;
  /** Requests refused for missing or wrong signatures. */
  refused: number;
  stop(): void;
}

export function startS3StandIn(options: { bucket: string; accessKeyId: string }): S3StandIn {
  const objects = new Map<string, Uint8Array>();
  const state = { refused: 0 };
  const xmlError = (status: number, code: string) =>
    new Response(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`, {
      status,
      headers: { "content-type": "application/xml" },
    });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const auth = request.headers.get("authorization") ?? "";
      const signed =
        auth.startsWith(`AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/`) &&
        /SignedHeaders=[^,]*host/.test(auth) &&
        /Signature=[0-9a-f]{64}$/.test(auth) &&
        request.headers.has("x-amz-date");
      if (!signed) {
        state.refused++;
        return xmlError(403, "AccessDenied");
      }
      const path = decodeURIComponent(new URL(request.url).pathname);
      const prefix = `/${options.bucket}/`;
      if (!path.startsWith(prefix)) return xmlError(404, "NoSuchBucket");
      const key = path.slice(prefix.length);
      if (request.method === "PUT") {
        objects.set(key, new Uint8Array(await request.arrayBuffer()));
        return new Response(null, { status: 200, headers: { etag: `"${Bun.hash(key).toString(16)}"` } });
      }
      if (request.method === "GET" || request.method === "HEAD") {
        const body = objects.get(key);
        if (!body) return xmlError(404, "NoSuchKey");
        return new Response(request.method === "HEAD" ? null : body, { headers: { "content-length": String(body.byteLength) } });
      }
      return xmlError(405, "MethodNotAllowed");
    },
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    objects,
    get refused() {
      return state.refused;
    },
    stop: () => server.stop(true),
  };
}
