/**
 * The Kubernetes API stand-in answers as the API server does for the calls it serves: Status
 * bodies and codes, validation by kubernetes-models, watch event streams, the Job controller.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startKubeStandin, type KubeStandin } from "./server.ts";

let standin: KubeStandin;
beforeAll(async () => {
  standin = await startKubeStandin();
});
afterAll(async () => {
  await standin?.close();
});

async function call(method: string, path: string, body?: unknown, token = standin.token) {
  const r = await fetch(standin.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    tls: { ca: standin.caPem },
  } as RequestInit);
  return { status: r.status, json: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

test("Kubernetes API stand-in: errors are Status objects with the API server's codes and reasons", async () => {
  expect((await call("GET", "/api/v1/namespaces/default/pods", undefined, "nope")).json).toMatchObject({ kind: "Status", status: "Failure", reason: "Unauthorized", code: 401 });
  const missing = await call("GET", "/apis/batch/v1/namespaces/default/jobs/none");
  expect(missing).toEqual({ status: 404, json: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: 'jobs.batch "none" not found', reason: "NotFound", details: { name: "none", group: "batch", kind: "jobs" }, code: 404 } });
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" }, stringData: { a: "b" } };
  expect((await call("POST", "/api/v1/namespaces/default/secrets", secret)).status).toBe(201);
  expect((await call("POST", "/api/v1/namespaces/default/secrets", secret)).json).toMatchObject({ reason: "AlreadyExists", code: 409, message: 'secrets "s1" already exists' });
  expect((await call("POST", "/api/v1/namespaces/nowhere/secrets", secret)).json).toMatchObject({ reason: "NotFound", code: 404, message: 'namespaces "nowhere" not found' });
  // kubernetes-models' schema: containers must be an array.
  const bad = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "bad" }, spec: { template: { spec: { restartPolicy: "Never", containers: { name: "x" } } } } };
  const invalid = await call("POST", "/apis/batch/v1/namespaces/default/jobs", bad);
  expect(invalid.json).toMatchObject({ kind: "Status", reason: "Invalid", code: 422 });
  const always = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "always" }, spec: { template: { spec: { restartPolicy: "Always", containers: [{ name: "x", image: "y" }] } } } };
  expect((await call("POST", "/apis/batch/v1/namespaces/default/jobs", always)).json.message).toContain("spec.template.spec.restartPolicy");
});

test("Kubernetes API stand-in: a watch streams ADDED for what exists, then changes, filtered by label", async () => {
  await call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1", labels: { app: "w" } }, data: { k: "1" } });
  const abort = new AbortController();
  const r = await fetch(`${standin.url}/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dw`, { headers: { authorization: `Bearer ${standin.token}` }, tls: { ca: standin.caPem }, signal: abort.signal } as RequestInit);
  const reader = r.body!.getReader();
  await call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "other" } });
  await call("DELETE", "/api/v1/namespaces/default/configmaps/c1");
  let text = "";
  while (text.split("\n").filter(Boolean).length < 2) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  expect(text.split("\n").filter(Boolean).map((l) => [JSON.parse(l).type, JSON.parse(l).object.metadata.name])).toEqual([["ADDED", "c1"], ["DELETED", "c1"]]);
});

test("Kubernetes API stand-in: a Job without a ServiceAccount gets no pod; deleting with Background removes what it owns", async () => {
  const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j1" }, spec: { template: { spec: { restartPolicy: "Never", serviceAccountName: "missing", containers: [{ name: "x", image: "reactorcide/not-built:never" }] } } } };
  const created = await call("POST", "/apis/batch/v1/namespaces/default/jobs", job);
  expect(created.json.spec.template.metadata.labels["controller-uid"]).toBe(created.json.metadata.uid);
  const owned = { apiVersion: "v1", kind: "Secret", metadata: { name: "owned", ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "j1", uid: created.json.metadata.uid }] } };
  expect((await call("POST", "/api/v1/namespaces/default/secrets", owned)).status).toBe(201);
  await Bun.sleep(300);
  expect((await call("GET", "/api/v1/namespaces/default/pods")).json.items).toEqual([]);
  const deleted = await call("DELETE", "/apis/batch/v1/namespaces/default/jobs/j1?propagationPolicy=Background");
  expect(deleted.json).toMatchObject({ kind: "Status", status: "Success" });
  expect((await call("GET", "/api/v1/namespaces/default/secrets/owned")).status).toBe(404);
});
