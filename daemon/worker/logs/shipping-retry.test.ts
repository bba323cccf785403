/**
 * Shipping survives lost answers: a worker's batch that reached the coordinator, whose answer a
 * cut connection lost, is sent again and stored once. Real API and Postgres, the real HTTP
 * coordinator client, and a TCP proxy between them that cuts the connection as the answer arrives.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Masker } from "../../../runner/secrets/masker.ts";
import { testApi } from "../../testing/api.ts";
import { HttpCoordinator } from "../http-coordinator.ts";
import { LogShipper } from "./shipper.ts";

let api: Awaited<ReturnType<typeof testApi>>;
let server: { stop(force?: boolean): void; port: number };
let worker: string;

beforeAll(async () => {
  api = await testApi();
  await api.call("POST", "/api/v1/projects", { body: { name: "cut", default_image: "busybox" } });
  const listening = api.app.listen({ hostname: "127.0.0.1", port: 0 });
  server = { port: listening.server!.port!, stop: (force) => listening.server!.stop(force) };
  worker = await api.tokenFor("worker-cut", { worker: true });
}, 60_000);
afterAll(async () => {
  server?.stop(true);
  await api?.close();
});

/** Forwards TCP to the API; `cut(n)` says whether the n-th answer (1-based) is dropped with both connections. */
async function cuttingProxy(cut: (answer: number) => boolean): Promise<{ url: string; cuts: number; close(): void }> {
  let answers = 0;
  const state = { cuts: 0 };
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: server.port });
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (chunk.subarray(0, 9).toString() === "HTTP/1.1 " && cut(++answers)) {
        state.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    get cuts() {
      return state.cuts;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

function output(lines: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i >= lines) return controller.close();
      let chunk = "";
      for (const end = Math.min(lines, i + 700); i < end; i++) chunk += `line ${i} ${"x".repeat(i % 40)}\n`;
      controller.enqueue(encoder.encode(chunk));
    },
  });
}

test("answers lost to cut connections mid-batch: the stored log is the job's output exactly, no line lost, none doubled", async () => {
  const job = (await api.call("POST", "/api/v1/jobs", { body: { name: "cut", command: "true", project: "cut" } })).json;
  await api.call("POST", `/api/v1/internal/jobs/${job.id}/status`, { token: worker, body: { status: "running" } });
  // Every third answer is lost after the coordinator stored the batch.
  const proxy = await cuttingProxy((n) => n % 3 === 0);
  try {
    const coordinator = new HttpCoordinator(proxy.url, worker);
    const shipper = new LogShipper({ masker: new Masker(), maxLines: 1000, maxInFlight: 3, send: (chunk) => coordinator.appendLogChunk(job.id, chunk) });
    await shipper.pump("stdout", output(30_000));
    await shipper.close();
    expect(proxy.cuts).toBeGreaterThanOrEqual(5);
  } finally {
    proxy.close();
  }
  const stored = (await api.call("GET", `/api/v1/jobs/${job.id}/logs`)).text.split("\n");
  stored.pop();
  expect(stored.length).toBe(30_000);
  expect(stored).toEqual(Array.from({ length: 30_000 }, (_, i) => `line ${i} ${"x".repeat(i % 40)}`));
  expect((await api.call("GET", `/api/v1/jobs/${job.id}`)).json.log_lines).toBe(30_000);
}, 60_000);
