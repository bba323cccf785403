import { logKey, type LogArchive } from "./log-archive.ts";

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

  async put(jobId: string, log: string): Promise<void> {
    await this.client.write(this.prefix + logKey(jobId), log, { type: "text/plain; charset=utf-8" });
  }

  async get(jobId: string): Promise<string | null> {
    try {
      return await this.client.file(this.prefix + logKey(jobId)).text();
    } catch (error) {
      if ((error as { code?: string }).code === "NoSuchKey") return null;
      throw error;
    }
  }
}
