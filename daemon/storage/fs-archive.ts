import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { logKey, type LogArchive } from "./log-archive.ts";

/** Logs as files under a directory; written to a temp name first so a reader never sees half a log. */
export class FsLogArchive implements LogArchive {
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = dir;
  }

  async put(jobId: string, log: string): Promise<void> {
    const path = join(this.dir, logKey(jobId));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await writeFile(temp, log, { mode: 0o600 });
    await rename(temp, path);
  }

  async get(jobId: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, logKey(jobId)), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }
}
