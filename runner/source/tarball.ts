/**
 * The `tarball` source: a local .tar/.tar.gz/.tgz, or one downloaded over http(s). The full listing
 * is checked first (archive-check.ts); an archive with any escaping entry is refused whole and
 * nothing of it is extracted. Extraction uses node-tar (`tar` package).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ArchiveEntry, archiveProblems } from "./archive-check.ts";
import { SourceError } from "./error.ts";
import { displayUrl, tarballLocation } from "./location.ts";
import type { PreparedSource, PrepareOptions, SourceSpec } from "./types.ts";
import { dropSpecialModes, replaceTargetWith } from "./staging.ts";

async function download(url: string, dir: string, options: PrepareOptions): Promise<string> {
  options.log?.(`tarball: downloading ${displayUrl(url)}`);
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal, redirect: "follow" });
  } catch (error) {
    options.signal?.throwIfAborted();
    throw new SourceError("source.url", `downloading "${displayUrl(url)}" failed: ${(error as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new SourceError("source.url", `downloading "${displayUrl(url)}" failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const file = join(dir, "archive");
  const bytes = await Bun.write(file, response);
  options.log?.(`tarball: downloaded ${bytes} bytes`);
  return file;
}

async function listing(file: string, label: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  try {
    // Loaded on use: node-tar (and zlib behind it) would otherwise load at every runner start.
    const { list } = await import("tar");
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries.push({ path: entry.path, type: entry.type, linkpath: entry.linkpath || undefined });
      },
    });
  } catch (error) {
    throw new SourceError("source.url", `"${label}" is not a readable tar archive (.tar, .tar.gz, .tgz): ${(error as Error).message}`);
  }
  return entries;
}

export async function prepareTarball(spec: SourceSpec, targetDir: string, options: PrepareOptions = {}): Promise<PreparedSource> {
  const location = tarballLocation(spec.url);
  const temp = mkdtempSync(join(tmpdir(), "reactorcide-tarball-"));
  try {
    const file = location.kind === "local" ? location.path : await download(location.url, temp, options);
    const label = location.kind === "local" ? location.path : displayUrl(location.url);
    const entries = await listing(file, label);
    const problems = archiveProblems(entries);
    if (problems.length > 0) {
      throw new SourceError("source.url", `archive "${label}" refused, nothing extracted: ${problems.join("; ")}`);
    }
    options.log?.(`tarball: extracting ${entries.length} entries from ${label}`);
    await replaceTargetWith(targetDir, async (stage) => {
      options.signal?.throwIfAborted();
      const { extract } = await import("tar");
      await extract({ file, cwd: stage, strict: true, preserveOwner: false });
      dropSpecialModes(stage);
    });
    options.log?.("tarball: done");
    return { type: "tarball", dir: resolve(targetDir) };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
