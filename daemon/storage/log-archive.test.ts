import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../db/free-port.ts";
import { logArchiveFromEnv } from "./from-env.ts";
import { FsLogArchive } from "./fs-archive.ts";
import { archivedText, type LogArchive } from "./log-archive.ts";
import { S3LogArchive } from "./s3-archive.ts";
import { startS3StandIn } from "./s3-standin.ts";

const standIn = startS3StandIn({ bucket: "ci-logs", accessKeyId: "AKIDTEST" });
afterAll(() => standIn.stop());

const log = "line one\nünïcode ✓\n" + "x".repeat(200_000) + "\nlast\n";

async function behavesLikeAnArchive(archive: LogArchive) {
  expect(await archivedText(archive, "job-never-written")).toBeNull();
  await archive.put("job-1", log);
  expect(await archivedText(archive, "job-1")).toBe(log);
  await archive.put("job-1", "replaced\n");
  expect(await archivedText(archive, "job-1")).toBe("replaced\n");
  for (const hostile of ["../escape", "a/b", "", ".hidden", "x".repeat(200), "id\n"]) {
    await expect(archive.put(hostile, "no")).rejects.toThrow(/job id/);
  }
}

describe("log archive", () => {
  test("filesystem: round-trips, replaces, refuses ids that would leave the directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reactorcide-archive-"));
    await behavesLikeAnArchive(new FsLogArchive(dir));
    expect(readdirSync(join(dir, "logs"))).toEqual(["job-1.log"]);
    expect(existsSync(join(dir, "..", "escape.log"))).toBe(false);
  });

  test("S3 (against a local stand-in of the S3 REST API: PUT/GET object, SigV4 header required)", async () => {
    const archive = new S3LogArchive({ endpoint: standIn.endpoint, bucket: "ci-logs", accessKeyId: "AKIDTEST", secretAccessKey: "secret", prefix: "rc/" });
    await behavesLikeAnArchive(archive);
    expect([...standIn.objects.keys()]).toEqual(["rc/logs/job-1.log"]);
  });

  test("S3 (against s3rver, an independent S3 implementation): a 100 MB log is streamed up in parts, in bounded memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rc-s3rver-"));
    // s3rver in its own process (scripts/s3-server.ts, as the compose stack runs it), so the memory
    // measured below is this process's alone, not the server's buffering of the parts it receives.
    const port = await freePort();
    const server = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "scripts", "s3-server.ts")], {
      env: { ...process.env, S3_ACCESS_KEY_ID: "AKIDLOGS", S3_SECRET_ACCESS_KEY: "logs-secret", S3_BUCKETS: "ci-logs", S3_PORT: String(port), S3_ADDRESS: "127.0.0.1", S3_DIRECTORY: dir },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      for (let i = 0; ; i++) {
        if (await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false)) break;
        if (i > 200 || server.exitCode !== null) throw new Error(`s3rver did not start: ${await new Response(server.stderr).text()}`);
        await Bun.sleep(50);
      }
      // s3rver checks the key, not the signature.
      const archive = new S3LogArchive({ endpoint: `http://127.0.0.1:${port}`, bucket: "ci-logs", accessKeyId: "AKIDLOGS", secretAccessKey: "logs-secret" });
      const line = "o" + "x".repeat(98) + "\n";
      const chunk = line.repeat(10_000); // 1 MB, as archiveJobLog yields a chunk at a time
      async function* parts() {
        for (let i = 0; i < 100; i++) yield chunk;
      }
      Bun.gc(true);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      await archive.put("big-job", parts());
      clearInterval(sampler);
      // Held whole before (the parts collected into one Blob): 220 MB more. Streamed in 5 MiB parts:
      // well under the log's 100 MB, however large the log.
      expect((peak - before) / 2 ** 20).toBeLessThan(60);
      const stream = (await archive.open("big-job"))!;
      let bytes = 0;
      let lines = 0;
      for await (const piece of stream) {
        bytes += piece.byteLength;
        for (const b of piece) if (b === 10) lines++;
      }
      expect(bytes).toBe(100 * chunk.length);
      expect(lines).toBe(1_000_000);
      await archive.put("small-job", "one\n");
      expect(await archivedText(archive, "small-job")).toBe("one\n");
    } finally {
      server.kill();
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("S3 stand-in refuses unsigned requests and a wrong access key, as S3 would", async () => {
    const before = standIn.refused;
    expect((await fetch(`${standIn.endpoint}/ci-logs/rc/logs/job-1.log`)).status).toBe(403);
    const wrong = new S3LogArchive({ endpoint: standIn.endpoint, bucket: "ci-logs", accessKeyId: "OTHER", secretAccessKey: "s" });
    await expect(wrong.put("job-2", "x")).rejects.toThrow();
    expect(standIn.refused).toBe(before + 2);
  });

  test("configuration: a directory by default, S3 when a bucket is set, and missing S3 settings named", async () => {
    expect(logArchiveFromEnv({}, "/data").location).toBe("/data/archive");
    const s3 = logArchiveFromEnv(
      { REACTORCIDE_S3_BUCKET: "ci-logs", REACTORCIDE_S3_ENDPOINT: standIn.endpoint, REACTORCIDE_S3_ACCESS_KEY_ID: "AKIDTEST", REACTORCIDE_S3_SECRET_ACCESS_KEY: "s" },
      "/data",
    );
    await s3.put("job-3", "via env\n");
    expect(await archivedText(s3, "job-3")).toBe("via env\n");
    expect(() => logArchiveFromEnv({ REACTORCIDE_S3_BUCKET: "b" }, "/d")).toThrow(/REACTORCIDE_S3_ENDPOINT/);
  });
});
