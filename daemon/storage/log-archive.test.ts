import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
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
