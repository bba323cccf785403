/**
 * client-node's requests sent with Bun's fetch. client-node hands TLS settings (the cluster's CA,
 * client certificates, skipTLSVerify) to fetch as an undici dispatcher, which Bun's fetch ignores:
 * every call to a cluster with its own CA (in-cluster: always) failed "self signed certificate".
 * Here the same settings from the KubeConfig go to Bun's `tls` option. Authentication (tokens,
 * exec plugins, token files that rotate) stays client-node's: applySecurityAuthentication.
 */
import {
  HttpMethod,
  RequestContext,
  ResponseContext,
  ServerConfiguration,
  createConfiguration,
  wrapHttpLibrary,
  type KubeConfig,
} from "@kubernetes/client-node";
import { readFileSync } from "node:fs";

type BunTls = { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; serverName?: string };

function fileOrData(data: string | undefined, file: string | undefined): string | undefined {
  if (data) return Buffer.from(data, "base64").toString("utf8");
  if (file) return readFileSync(file, "utf8");
  return undefined;
}

/** Bun fetch's TLS options for the KubeConfig's current cluster and user. */
export function tlsOptions(kc: KubeConfig): BunTls {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster) throw new Error("kubeconfig: no current cluster");
  const tls: BunTls = { rejectUnauthorized: !cluster.skipTLSVerify };
  const ca = fileOrData(cluster.caData, cluster.caFile);
  if (ca) tls.ca = ca;
  const cert = fileOrData(user?.certData, user?.certFile);
  const key = fileOrData(user?.keyData, user?.keyFile);
  if (cert && key) Object.assign(tls, { cert, key });
  if (cluster.tlsServerName) tls.serverName = cluster.tlsServerName;
  return tls;
}

/** One authenticated request to the API server (for watches and logs, which client-node streams itself). */
export async function kubeFetch(kc: KubeConfig, path: string, init: { signal?: AbortSignal; method?: string } = {}): Promise<Response> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig: no current cluster");
  const ctx = new RequestContext(cluster.server + path, (init.method ?? "GET") as HttpMethod);
  await kc.applySecurityAuthentication(ctx);
  return fetch(ctx.getUrl(), { method: init.method ?? "GET", headers: ctx.getHeaders(), signal: init.signal, tls: tlsOptions(kc) } as RequestInit);
}

/** An API client (BatchV1Api, CoreV1Api, ...) like kc.makeApiClient, sending through Bun's fetch. */
export function apiClient<T>(kc: KubeConfig, Api: new (config: ReturnType<typeof createConfiguration>) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig: no current cluster");
  const tls = tlsOptions(kc);
  const httpApi = wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      const response = await fetch(request.getUrl(), {
        method: request.getHttpMethod().toString(),
        body: request.getBody(),
        headers: request.getHeaders(),
        signal: request.getSignal(),
        tls,
      } as RequestInit);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => (headers[name] = value));
      const bytes = response.arrayBuffer().then((b) => Buffer.from(b));
      return new ResponseContext(response.status, headers, {
        text: async () => (await bytes).toString("utf8"),
        binary: () => bytes,
        stream: () => null,
      });
    },
  });
  return new Api(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: kc }, httpApi }));
}
