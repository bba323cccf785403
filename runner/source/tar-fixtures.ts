/**
 * Test helper: writes tar archives entry by entry with node-tar's Header, so tests can build the
 * hostile archives (absolute paths, "..", links out) that a normal archiver would clean up.
 */
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Header } from "tar";

export type FixtureEntry =
  | { path: string; type?: "File"; content?: string; mode?: number }
  | { path: string; type: "Directory" | "FIFO" | "CharacterDevice"; mode?: number }
  | { path: string; type: "SymbolicLink" | "Link"; linkpath: string };

export function tarBytes(entries: FixtureEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? "File";
    const body = type === "File" ? Buffer.from((entry as { content?: string }).content ?? "") : Buffer.alloc(0);
    const header = new Header({
      path: entry.path,
      type,
      mode: (entry as { mode?: number }).mode ?? (type === "Directory" ? 0o755 : 0o644),
      size: body.length,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      linkpath: "linkpath" in entry ? entry.linkpath : undefined,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Writes the archive to `file` (gzipped when the name ends in .gz or .tgz) and returns `file`. */
export function writeTar(file: string, entries: FixtureEntry[]): string {
  const bytes = tarBytes(entries);
  writeFileSync(file, /\.(tgz|gz)$/.test(file) ? gzipSync(bytes) : bytes);
  return file;
}
