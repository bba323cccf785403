#!/usr/bin/env bun
/**
 * An S3-compatible object store for the compose stack where no registry offers one: the s3rver
 * package (a widely used S3 implementation for Node, independent of this project), on a data
 * directory, with one access key from the environment and the buckets named in S3_BUCKETS made
 * at start. Compiled into reactorcide/s3rver:dev by scripts/image.ts.
 * What it is not: s3rver checks that a request is signed with a known access key, not the SigV4
 * signature itself; it is for development stacks and tests, not production.
 * Env: S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (both required), S3_BUCKETS (comma-separated),
 * S3_PORT (9000), S3_ADDRESS (0.0.0.0), S3_DIRECTORY (/data).
 * `s3-server health`: exit 0 when the server on S3_PORT answers (for container health checks).
 */
import S3rver from "s3rver";
// s3rver keeps its accounts in this registry; the default S3RVER/S3RVER key is removed.
import AWSAccount from "s3rver/lib/models/account.js";

const env = process.env;
if (process.argv[2] === "health") {
  const answered = await fetch(`http://127.0.0.1:${env.S3_PORT ?? "9000"}/`, { signal: AbortSignal.timeout(3000) }).then(
    () => true,
    () => false,
  );
  process.exit(answered ? 0 : 1);
}
const need = (name: string): string => {
  const value = env[name];
  if (!value) {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return value;
};
const accessKeyId = need("S3_ACCESS_KEY_ID");
const secretAccessKey = need("S3_SECRET_ACCESS_KEY");
const port = Number(env.S3_PORT ?? "9000");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`S3_PORT must be a whole number from 0 to 65535, got ${JSON.stringify(env.S3_PORT)}`);
  process.exit(2);
}
const buckets = (env.S3_BUCKETS ?? "").split(",").map((b) => b.trim()).filter(Boolean);
const bucketName = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
for (const b of buckets) {
  if (!bucketName.test(b)) {
    console.error(`S3_BUCKETS: "${b}" is not a bucket name (3-63 of a-z 0-9 . -)`);
    process.exit(2);
  }
}

const dummy = AWSAccount.DUMMY_ACCOUNT;
dummy.revokeAccessKey("S3RVER");
dummy.createKeyPair(accessKeyId, secretAccessKey);

const server = new S3rver({
  port,
  address: env.S3_ADDRESS ?? "0.0.0.0",
  directory: env.S3_DIRECTORY ?? "/data",
  silent: env.S3_LOG !== "true",
  // Path-style only: with virtual hosts on, the Host "s3:9000" of a compose network would be read as a bucket name.
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const { address, port: listening } = (await server.run()) as { address: string; port: number };
console.log(`s3rver listening on ${address}:${listening} (buckets: ${buckets.join(", ") || "none"})`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
