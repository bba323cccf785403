import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import S3rver from "s3rver";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    const server = new S3rver({ port: 0, address: "127.0.0.1", directory: dir, silent: true, vhostBuckets: false, configureBuckets: [{ name: "ci-logs", configs: [] }] });
    const { port } = (await server.run()) as unknown as { port: number };
    try {
      // s3rver's built-in account; it checks the key, not the signature.
      const archive = new S3LogArchive({ endpoint: `http://127.0.0.1:${port}`, bucket: "ci-logs", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
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
      // Held whole before (the parts collected into one Blob): 220 MB more. Streamed, about 60 MB,
      // s3rver's own buffering in this process included; less than the log however large it is.
      expect((peak - before) / 2 ** 20).toBeLessThan(100);
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
      await server.close();
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
