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
    // One PUT of the whole object (what every S3-compatible store takes); the parts are held
    // as a Blob until then, at most the job's log cap.
    const chunks: string[] = [];
    if (typeof parts === "string") chunks.push(parts);
    else for await (const part of parts) chunks.push(part);
    await this.client.write(key, new Blob(chunks), { type: "text/plain; charset=utf-8" });
  }

  async open(jobId: string): Promise<ReadableStream<Uint8Array> | null> {
    const file = this.client.file(this.prefix + logKey(jobId));
    if (await file.exists()) return file.stream();
    const legacy = this.client.file(this.prefix + legacyLogKey(jobId));
    return (await legacy.exists()) ? fromLegacyJsonl(legacy.stream()) : null;
  }
}
