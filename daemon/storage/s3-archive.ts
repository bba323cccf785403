import { fromLegacyJsonl, legacyLogKey, logKey, type LogArchive } from "./log-archive.ts";

export interface S3ArchiveOptions {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://minio:9000 */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** Key prefix inside the bucket, e.g. "reactorcide/". */
  prefix?: string;
}

/** S3's smallest part but the last (5 MiB). */
const PART_BYTES = 5 * 2 ** 20;

/** Logs in an S3-compatible bucket through Bun's own S3 client (SigV4, path-style requests). */
export class S3LogArchive implements LogArchive {
  readonly location: string;
  private readonly client: Bun.S3Client;
  private readonly prefix: string;

  constructor(options: S3ArchiveOptions) {
    this.client = new Bun.S3Client({
      endpoint: options.endpoint,
      bucket: options.bucket,
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      region: options.region ?? "us-east-1",
    });
    this.prefix = options.prefix ?? "";
    this.location = `s3 ${options.endpoint}/${options.bucket}/${this.prefix}`;
  }

  async put(jobId: string, parts: AsyncIterable<string> | string): Promise<void> {
    const key = this.prefix + logKey(jobId);
    // Streamed: a multipart upload of PART_BYTES parts (one PUT when the log is smaller), so
    // archiving a 100 MB log holds a few parts in memory, not the log. S3 shows the object only
    // once the upload completes: readers see the old log or the new one whole.
    const writer = this.client.file(key).writer({ partSize: PART_BYTES, queueSize: 2, retry: 0, type: "text/plain; charset=utf-8" });
    let buffered = 0;
    for await (const part of typeof parts === "string" ? [parts] : parts) {
      writer.write(part);
      buffered += part.length;
      if (buffered >= PART_BYTES) {
        await writer.flush();
        buffered = 0;
      }
    }
    await writer.end();
  }

  async open(jobId: string): Promise<ReadableStream<Uint8Array> | null> {
    const file = this.client.file(this.prefix + logKey(jobId));
    if (await file.exists()) return file.stream();
    const legacy = this.client.file(this.prefix + legacyLogKey(jobId));
    return (await legacy.exists()) ? fromLegacyJsonl(legacy.stream()) : null;
  }
}
