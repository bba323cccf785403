import { mkdir, open as openFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fromLegacyJsonl, legacyLogKey, logKey, type LogArchive } from "./log-archive.ts";

/** Logs as files under a directory; written to a temp name first so a reader never sees half a log. */
export class FsLogArchive implements LogArchive {
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = dir;
  }

  async put(jobId: string, parts: AsyncIterable<string> | string): Promise<void> {
    const path = join(this.dir, logKey(jobId));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    const file = await openFile(temp, "w", 0o600);
    try {
      if (typeof parts === "string") await file.write(parts);
      else for await (const part of parts) await file.write(part);
      await file.sync();
    } catch (error) {
      await file.close();
      await unlink(temp).catch(() => {});
      throw error;
    }
    await file.close();
    await rename(temp, path);
  }

  async open(jobId: string): Promise<ReadableStream<Uint8Array> | null> {
    const file = Bun.file(join(this.dir, logKey(jobId)));
    // A rename replaces the file whole, so the stream reads the old log or the new one.
    if (await file.exists()) return file.stream();
    const legacy = Bun.file(join(this.dir, legacyLogKey(jobId)));
    return (await legacy.exists()) ? fromLegacyJsonl(legacy.stream()) : null;
  }
}
