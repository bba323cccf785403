import { afterAll, expect, test } from "bun:test";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendLogs } from "../jobs/store.ts";
import { testApi } from "../testing/api.ts";
import { FsLogArchive } from "./fs-archive.ts";
import { archiveJobLog, readWholeJobLog } from "./job-logs.ts";
import { archivedText } from "./log-archive.ts";

const api = await testApi();
afterAll(() => api.close());

async function newJob(): Promise<string> {
  const project = await api.call("POST", "/api/v1/projects", { body: { name: `p${crypto.randomUUID().slice(0, 8)}`, default_image: "img" } });
  const job = await api.call("POST", "/api/v1/jobs", { body: { project: project.json.id, name: "j", command: "true" } });
  expect(job.status).toBe(201);
  return job.json.id;
}

test("a finished job's log moves to the archive whole, and reads the same from there", async () => {
  const archive = new FsLogArchive(await mkdtemp(join(tmpdir(), "reactorcide-joblogs-")));
  const id = await newJob();
  await appendLogs(api.db, id, [{ line: "one" }, { stream: "stderr", line: "two" }]);
  await appendLogs(api.db, id, [{ line: "three ✓" }]);
  const before = await readWholeJobLog(api.sql, archive, id, 0, false);
  expect(await archiveJobLog(api.sql, archive, id)).toBe(3);
  // Postgres no longer holds them; the reader does not care.
  expect((await api.sql`SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = ${id}`)[0]!.n).toBe(0);
  expect(await readWholeJobLog(api.sql, archive, id, 0, true)).toEqual(before);
  expect((await readWholeJobLog(api.sql, archive, id, 2, true)).map((l) => l.line)).toEqual(["three ✓"]);
  expect(before.map((l) => [l.seq, l.stream, l.line])).toEqual([
    [1, "stdout", "one"],
    [2, "stderr", "two"],
    [3, "stdout", "three ✓"],
  ]);
});

test("lines that arrive after archiving (a worker's last words after a cancel) are merged in, archiving twice changes nothing", async () => {
  const archive = new FsLogArchive(await mkdtemp(join(tmpdir(), "reactorcide-joblogs-")));
  const id = await newJob();
  await appendLogs(api.db, id, [{ line: "a" }, { line: "b" }]);
  await archiveJobLog(api.sql, archive, id);
  await appendLogs(api.db, id, [{ stream: "system", line: "cancelled through the API; stopping" }]);
  // Before the second archive, the reader joins both places.
  expect((await readWholeJobLog(api.sql, archive, id, 0, true)).map((l) => l.line)).toEqual(["a", "b", "cancelled through the API; stopping"]);
  expect(await archiveJobLog(api.sql, archive, id)).toBe(3);
  expect(await archiveJobLog(api.sql, archive, id)).toBe(3);
  expect((await readWholeJobLog(api.sql, archive, id, 0, true)).map((l) => l.seq)).toEqual([1, 2, 3]);
});

test("a running job's log is read from Postgres only", async () => {
  const archive = new FsLogArchive(await mkdtemp(join(tmpdir(), "reactorcide-joblogs-")));
  const id = await newJob();
  await appendLogs(api.db, id, [{ line: "live" }]);
  expect((await readWholeJobLog(api.sql, archive, id, 0, false)).map((l) => l.line)).toEqual(["live"]);
  expect(await archivedText(archive, id)).toBeNull();
});
