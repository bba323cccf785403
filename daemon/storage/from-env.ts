import { join } from "node:path";
import { FsLogArchive } from "./fs-archive.ts";
import type { LogArchive } from "./log-archive.ts";
import { S3LogArchive } from "./s3-archive.ts";

/**
 * The archive the environment asks for: S3 when REACTORCIDE_S3_BUCKET is set (with
 * REACTORCIDE_S3_ENDPOINT, REACTORCIDE_S3_ACCESS_KEY_ID, REACTORCIDE_S3_SECRET_ACCESS_KEY,
 * optional _REGION and _PREFIX), otherwise `<dataDir>/archive`.
 */
export function logArchiveFromEnv(env: Record<string, string | undefined>, dataDir: string): LogArchive {
  const bucket = env.REACTORCIDE_S3_BUCKET;
  if (!bucket) return new FsLogArchive(join(dataDir, "archive"));
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} must be set when REACTORCIDE_S3_BUCKET is (S3 log archive)`);
    return value;
  };
  return new S3LogArchive({
    endpoint: need("REACTORCIDE_S3_ENDPOINT"),
    bucket,
    accessKeyId: need("REACTORCIDE_S3_ACCESS_KEY_ID"),
    secretAccessKey: need("REACTORCIDE_S3_SECRET_ACCESS_KEY"),
    region: env.REACTORCIDE_S3_REGION,
    prefix: env.REACTORCIDE_S3_PREFIX,
  });
}
