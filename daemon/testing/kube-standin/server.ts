/**
 * A stand-in for the Kubernetes API server, for tests: real HTTPS on 127.0.0.1 with a bearer
 * token, the API's paths, verbs, JSON, `watch=true` event streams, status codes and `Status`
 * bodies, for the calls the kubernetes runtime makes and the objects k8s/ holds. Every object it
 * receives is validated with kubernetes-models. Its kubelet and Job controller (kubelet.ts) run each
 * Job's pod on the local Docker engine. It is not Kubernetes: no scheduler beyond a node selector
 * and taints, no RBAC enforcement (it records each request's verb and resource so tests can check
 * a Role covers them), no NetworkPolicy, no emptyDir size limits; PATCH is not served.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kubelet, type KubeletOptions } from "./kubelet.ts";
import { RESOURCES, apiVersionOf, resourceByPath, validateObject, type ResourceType } from "./resources.ts";
import { StatusError, notFound, qualified, statusBody, statusResponse } from "./status.ts";
import { Store, matchesSelector, now, type KubeObject } from "./store.ts";

export interface RecordedRequest {
  verb: string;
  group: string;
  /** "pods", or "pods/log" for a subresource. */
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

export interface KubeStandinOptions extends Partial<KubeletOptions> {
  /** Namespaces that exist from the start (default: default, kube-system). */
  namespaces?: string[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "kube-standin-tls-"));
  try {
    const r = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=kube-standin", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      { stdout: "ignore", stderr: "pipe" },
    );
    if (r.exitCode !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
    return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Route {
  t: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

function parsePath(path: string): Route | "discovery" | undefined {
  const segs = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api") {
    if (segs.length <= 2) return "discovery";
    group = "";
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === "apis") {
    if (segs.length <= 3) return "discovery";
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const t = resourceByPath(group, version, rest[0]!);
  if (!t) return undefined;
  return { t, namespace, name: rest[1], sub: rest[2] };
}

export async function startKubeStandin(options: KubeStandinOptions = {}) {
  const token = `standin-${crypto.randomUUID()}`;
  const tls = selfSignedCertificate();
  const store = new Store();
  const requests: RecordedRequest[] = [];
  const kubelet = new Kubelet(store, options);
  const nsType = RESOURCES.find((t) => t.plural === "namespaces")!;
  for (const name of options.namespaces ?? ["default", "kube-system"]) {
    store.create(nsType, { apiVersion: "v1", kind: "Namespace", metadata: { name, uid: crypto.randomUUID(), resourceVersion: "", creationTimestamp: now() }, status: { phase: "Active" } });
  }

  async function create(route: Route, body: unknown): Promise<Response> {
    const { t } = route;
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new StatusError(400, "BadRequest", "the body of the request was not a JSON object");
    const object = body as KubeObject;
    if (object.apiVersion !== apiVersionOf(t) || object.kind !== t.kind) {
      throw new StatusError(400, "BadRequest", `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(t)}) or the kind (${object.kind}) is not ${t.kind}`);
    }
    object.metadata = { ...(object.metadata ?? {}) } as KubeObject["metadata"];
    const meta = object.metadata;
    if (t.namespaced) {
      if (meta.namespace && meta.namespace !== route.namespace) throw new StatusError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
      meta.namespace = route.namespace;
    }
    if (!meta.name && typeof meta.generateName === "string") meta.name = `${meta.generateName}${crypto.randomUUID().slice(0, 5)}`;
    const invalid = (message: string) => new StatusError(422, "Invalid", `${t.kind}.${t.group || "core"} "${meta.name ?? ""}" is invalid: ${message}`, { name: meta.name, group: t.group, kind: t.kind });
    if (!meta.name) throw invalid("metadata.name: Required value: name or generateName is required");
    if (!DNS_SUBDOMAIN.test(meta.name) || meta.name.length > 253) throw invalid(`metadata.name: Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    for (const [k, v] of Object.entries(meta.labels ?? {})) {
      if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) throw invalid(`metadata.labels: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (label ${k})`);
    }
    try {
      await validateObject(t, object);
    } catch (error) {
      throw invalid(error instanceof Error ? error.message : String(error));
    }
    if (t.namespaced && !store.get(nsType, undefined, route.namespace!)) throw notFound("namespaces", "", route.namespace!);
    if (store.get(t, meta.namespace, meta.name)) {
      throw new StatusError(409, "AlreadyExists", `${qualified(t.plural, t.group)} "${meta.name}" already exists`, { name: meta.name, group: t.group, kind: t.plural });
    }
    Object.assign(meta, { uid: crypto.randomUUID(), creationTimestamp: now(), generation: 1 });
    delete meta.deletionTimestamp;
    kubelet.admit(t, object, invalid);
    const stored = store.create(t, object);
    return Response.json(stored, { status: 201 });
  }

  async function replace(route: Route, body: unknown): Promise<Response> {
    const { t } = route;
    const current = store.get(t, route.namespace, route.name!);
    if (!current) throw notFound(t.plural, t.group, route.name!);
    const object = body as KubeObject;
    if (!object?.metadata || object.metadata.name !== route.name) throw new StatusError(400, "BadRequest", "the name of the object does not match the name on the URL");
    if (object.metadata.resourceVersion && object.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw new StatusError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(t.plural, t.group)} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    try {
      await validateObject(t, object);
    } catch (error) {
      throw new StatusError(422, "Invalid", `${t.kind} "${route.name}" is invalid: ${error instanceof Error ? error.message : error}`);
    }
    const kept = { uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp, namespace: current.metadata.namespace };
    object.metadata = { ...object.metadata, ...kept, generation: (current.metadata.generation ?? 1) + 1 } as KubeObject["metadata"];
    return Response.json(store.update(t, object));
  }

  function remove(route: Route, query: URLSearchParams, body: unknown): Response {
    const { t } = route;
    const current = store.get(t, route.namespace, route.name!);
    if (!current) throw notFound(t.plural, t.group, route.name!);
    const opts = (body && typeof body === "object" ? body : {}) as { propagationPolicy?: string; gracePeriodSeconds?: number };
    const policy = query.get("propagationPolicy") ?? opts.propagationPolicy ?? (t.plural === "jobs" ? "Orphan" : "Background");
    if (!["Orphan", "Background", "Foreground"].includes(policy)) throw new StatusError(400, "BadRequest", `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
    const graceRaw = query.get("gracePeriodSeconds") ?? opts.gracePeriodSeconds;
    const grace = graceRaw === undefined || graceRaw === null ? undefined : Number(graceRaw);
    const result = kubelet.delete(t, current, policy as "Orphan" | "Background" | "Foreground", grace);
    if (result) return Response.json(result);
    return Response.json(statusBody(200, "", "", { name: current.metadata.name, group: t.group, kind: t.plural, uid: current.metadata.uid }));
  }

  function watch(route: Route, query: URLSearchParams, signal: AbortSignal): Response {
    const { t } = route;
    const selector = query.get("labelSelector");
    const field = query.get("fieldSelector");
    const fieldName = field?.startsWith("metadata.name=") ? field.slice("metadata.name=".length) : undefined;
    const since = query.get("resourceVersion");
    const timeout = Number(query.get("timeoutSeconds") ?? 0);
    const matches = (o: KubeObject) =>
      (!t.namespaced || !route.namespace || o.metadata.namespace === route.namespace) && matchesSelector(o.metadata.labels, selector) && (!fieldName || o.metadata.name === fieldName);
    const encoder = new TextEncoder();
    let stop = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (type: string, object: unknown) => {
          try {
            controller.enqueue(encoder.encode(`${JSON.stringify({ type, object })}\n`));
          } catch {
            stop();
          }
        };
        if (!since || since === "0") for (const o of store.list(t, route.namespace, selector).filter(matches)) send("ADDED", o);
        else {
          const first = store.history[0]?.rv ?? store.version;
          if (Number(since) < first - 1) {
            send("ERROR", statusBody(410, "Expired", `too old resource version: ${since} (${first})`));
            controller.close();
            return;
          }
          for (const e of store.history) if (e.rv > Number(since) && e.resource === t && matches(e.object)) send(e.type, e.object);
        }
        const unsubscribe = store.subscribe((e) => {
          if (e.resource === t && matches(e.object)) send(e.type, e.object);
        });
        const timer = timeout > 0 ? setTimeout(() => stop(), timeout * 1000) : undefined;
        stop = () => {
          unsubscribe();
          clearTimeout(timer);
          try {
            controller.close();
          } catch {
            // closed
          }
        };
        signal.addEventListener("abort", () => stop());
      },
      cancel: () => stop(),
    });
    return new Response(stream, { headers: { "content-type": "application/json", "transfer-encoding": "chunked" } });
  }

  function discovery(path: string): Response {
    if (path === "/api") return Response.json({ kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    if (path === "/apis") {
      const groups = [...new Set(RESOURCES.filter((t) => t.group).map((t) => `${t.group}/${t.version}`))].map((gv) => {
        const [name, version] = gv.split("/");
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      });
      return Response.json({ kind: "APIGroupList", apiVersion: "v1", groups });
    }
    const gv = path.replace(/^\/api\//, "").replace(/^\/apis\//, "");
    const resources = RESOURCES.filter((t) => apiVersionOf(t) === gv);
    if (!resources.length) throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    return Response.json({
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: gv,
      resources: resources.map((t) => ({ name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: ["create", "delete", "get", "list", "update", "watch"] })),
    });
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get("authorization") !== `Bearer ${token}`) throw new StatusError(401, "Unauthorized", "Unauthorized");
    if (url.pathname === "/version") return Response.json({ major: "1", minor: "33", gitVersion: "v1.33.0-reactorcide-standin", platform: "linux/amd64" });
    const route = parsePath(url.pathname);
    if (route === "discovery") return discovery(url.pathname);
    if (!route) throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    const { t } = route;
    const q = url.searchParams;
    const method = request.method;
    const watching = method === "GET" && !route.name && q.get("watch") === "true";
    const verb = watching ? "watch" : method === "GET" ? (route.name ? "get" : "list") : method === "POST" ? "create" : method === "PUT" ? "update" : method === "DELETE" ? (route.name ? "delete" : "deletecollection") : method.toLowerCase();
    requests.push({ verb, group: t.group, resource: route.sub ? `${t.plural}/${route.sub}` : t.plural, namespace: route.namespace, name: route.name });
    if (t.namespaced && route.name === undefined && route.namespace === undefined && method !== "GET") throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    const readBody = async () => {
      const text = await request.text();
      if (!text) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new StatusError(400, "BadRequest", "the request body is not valid JSON");
      }
    };
    if (route.sub === "log" && t.plural === "pods" && method === "GET") return kubelet.logResponse(route.namespace!, route.name!, q, request.signal);
    if (route.sub && route.sub !== "status") throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    if (method === "GET" && route.name) {
      const o = store.get(t, route.namespace, route.name);
      if (!o) throw notFound(t.plural, t.group, route.name);
      return Response.json(o);
    }
    if (watching) return watch(route, q, request.signal);
    if (method === "GET") {
      let items = store.list(t, route.namespace, q.get("labelSelector"));
      const limit = Number(q.get("limit") ?? 0);
      if (limit > 0) items = items.slice(0, limit);
      return Response.json({ kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(store.version) }, items });
    }
    if (method === "POST" && !route.name) return create(route, await readBody());
    if (method === "PUT" && route.name) return replace(route, await readBody());
    if (method === "DELETE" && route.name) return remove(route, q, await readBody());
    throw new StatusError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${method})`);
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    idleTimeout: 0,
    async fetch(request) {
      try {
        return await handle(request);
      } catch (error) {
        if (error instanceof StatusError) return statusResponse(error);
        return statusResponse(new StatusError(500, "InternalError", `Internal error occurred: ${error instanceof Error ? error.message : error}`));
      }
    },
  });
  const url = `https://127.0.0.1:${server.port}`;
  kubelet.apiServer = { host: "127.0.0.1", port: server.port! };

  return {
    url,
    token,
    caPem: tls.cert,
    store,
    kubelet,
    /** Every request served: verb, group, resource, namespace (to check a Role covers them). */
    requests,
    /** A KubeConfig for this stand-in, as a kubeconfig file would give. */
    kubeConfig(namespace = "default", bearer = token): KubeConfig {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "standin", server: url, caData: Buffer.from(tls.cert).toString("base64"), skipTLSVerify: false }],
        users: [{ name: "standin", token: bearer }],
        contexts: [{ name: "standin", cluster: "standin", user: "standin", namespace }],
        currentContext: "standin",
      });
      return kc;
    },
    /** The same as kubeconfig YAML, for `--kubeconfig FILE`. */
    kubeConfigYaml(namespace = "default"): string {
      return this.kubeConfig(namespace).exportConfig();
    },
    /** Creates objects as `kubectl create -f` would (POST each to its collection); returns the responses. */
    async apply(objects: unknown[]): Promise<{ status: number; body: unknown }[]> {
      const out: { status: number; body: unknown }[] = [];
      for (const o of objects) {
        const { apiVersion, kind, metadata } = o as { apiVersion: string; kind: string; metadata?: { namespace?: string } };
        const t = RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
        const base = t ? `${t.group ? `/apis/${t.group}` : "/api"}/${t.version}${t.namespaced ? `/namespaces/${metadata?.namespace ?? "default"}` : ""}/${t.plural}` : `/unknown/${apiVersion}/${kind}`;
        const r = await fetch(url + base, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(o), tls: { ca: tls.cert } } as RequestInit);
        out.push({ status: r.status, body: await r.json() });
      }
      return out;
    },
    async close() {
      server.stop(true);
      await kubelet.close();
    },
  };
}

export type KubeStandin = Awaited<ReturnType<typeof startKubeStandin>>;
