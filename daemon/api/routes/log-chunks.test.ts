/**
 * POST /api/v1/internal/jobs/{id}/log-chunks: a worker's packed stored-form lines are stored as
 * they came, once per offset, and a chunk that is not what it says (hostile or broken worker) is a
 * 400 naming the body, with nothing stored.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { LOG_CHUNK_CONTENT_TYPE, LOG_CHUNK_MAX_BYTES, LOG_LINE_MAX_BYTES } from "../../../runner/protocol/log-chunk.ts";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
let worker: string;
beforeAll(async () => {
  api = await testApi();
  await api.call("POST", "/api/v1/projects", { body: { name: "chunks", default_image: "busybox" } });
  worker = await api.tokenFor("chunk-worker", { worker: true });
});
afterAll(() => api?.close());

async function runningJob(): Promise<string> {
  const job = (await api.call("POST", "/api/v1/jobs", { body: { name: "c", command: "true", project: "chunks" } })).json;
  await api.call("POST", `/api/v1/internal/jobs/${job.id}/status`, { token: worker, body: { status: "running" } });
  return job.id;
}

const pack = (text: string | Uint8Array) => Bun.zstdCompressSync(typeof text === "string" ? Buffer.from(text) : text, { level: 1 });

async function ship(jobId: string, offset: number, lines: number, body: Uint8Array) {
  const response = await api.app.handle(
    new Request(`http://local/api/v1/internal/jobs/${jobId}/log-chunks?offset=${offset}&lines=${lines}`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker}`, "content-type": LOG_CHUNK_CONTENT_TYPE },
      body,
    }),
  );
  return { status: response.status, json: (await response.json()) as any };
}

const logOf = async (jobId: string) => (await api.call("GET", `/api/v1/jobs/${jobId}/logs`)).text;

test("chunks are stored as they came, in order; one sent again is stored once; one ahead of its predecessor is 409", async () => {
  const id = await runningJob();
  expect(await ship(id, 0, 2, pack("oone\netwo ✓\n"))).toEqual({ status: 200, json: { appended: 2, last_seq: 2, shipped: 2 } });
  // The answer was lost: the worker sends it again.
  expect(await ship(id, 0, 2, pack("oone\netwo ✓\n"))).toEqual({ status: 200, json: { appended: 0, last_seq: 2, shipped: 2 } });
  const gap = await ship(id, 5, 1, pack("olater\n"));
  expect({ status: gap.status, field: gap.json.error.field }).toEqual({ status: 409, field: "offset" });
  // Cut differently the second time: only the new line is stored.
  expect((await ship(id, 1, 2, pack("etwo ✓\nsthree\n"))).json).toEqual({ appended: 1, last_seq: 3, shipped: 3 });
  expect(await logOf(id)).toBe("one\ntwo ✓\n[reactorcide] three\n");
  const stored = await api.call("GET", `/api/v1/jobs/${id}`);
  expect(stored.json.log_lines).toBe(3);
});

test("a chunk that is not what it says is 400 naming the body, and nothing is stored", async () => {
  const id = await runningJob();
  const bomb = pack(new Uint8Array(LOG_CHUNK_MAX_BYTES + 1024).fill(0x6f));
  const cases: [string, number, Uint8Array, RegExp][] = [
    ["not zstd", 1, Buffer.from("oplain text\n"), /not a zstd frame/],
    ["a small body that unpacks past the limit", 1, bomb, /unpacks to more than/],
    ["more lines than it says", 1, pack("oa\nob\n"), /holds 2 lines, not 1/],
    ["fewer lines than it says", 3, pack("oa\nob\n"), /holds 2 lines, not 3/],
    ["a line without a stream character", 2, pack("oa\nxb\n"), /line 2 .* stream character/],
    ["no newline at the end", 1, pack("oa"), /does not end with a newline/],
    ["a NUL byte", 1, pack("oa\0b\n"), /NUL/],
    ["bytes that are not UTF-8", 1, pack(Buffer.from([0x6f, 0xff, 0xfe, 0x0a])), /not UTF-8/],
    ["a line past the longest", 1, pack(`o${"x".repeat(LOG_LINE_MAX_BYTES + 1)}\n`), /longer than/],
    ["an empty body", 1, new Uint8Array(), /zstd-packed chunk .* is required/],
  ];
  for (const [label, lines, body, message] of cases) {
    const r = await ship(id, 0, lines, body);
    expect({ label, status: r.status, field: r.json.error?.field }).toEqual({ label, status: 400, field: "body" });
    expect(r.json.error.message).toMatch(message);
  }
  expect(await logOf(id)).toBe("");
  expect((await api.call("GET", `/api/v1/jobs/${id}`)).json.log_lines).toBe(0);
});

test("a chunk for a job that does not exist is 404, and bad counts are 400 naming them", async () => {
  const ghost = "00000000-0000-4000-8000-000000000000";
  expect((await ship(ghost, 0, 1, pack("oa\n"))).status).toBe(404);
  expect((await ship(ghost, 0, 1, new Uint8Array())).status).toBe(404);
  const id = await runningJob();
  const zero = await ship(id, 0, 0, pack("oa\n"));
  expect({ status: zero.status, field: zero.json.error.field }).toEqual({ status: 400, field: "lines" });
});
