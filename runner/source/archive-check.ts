/**
 * Decides, from an archive's full listing and before anything is written, whether every entry
 * stays inside the target: no absolute paths, no ".." components, no symbolic or hard link whose
 * target resolves outside (following the archive's own links, as the file system would), no
 * entry written through a link, and only files, directories and links.
 */
import { posix } from "node:path";

export interface ArchiveEntry {
  path: string;
  type: string;
  linkpath?: string;
}

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);
const MAX_LINK_HOPS = 40;

function components(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

/** Resolves `parts` inside the archive root, following the archive's symlinks; null when it escapes. */
function resolveInside(parts: string[], links: Map<string, string>, hops = 0): string[] | null {
  const stack: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "..") {
      if (stack.length === 0) return null;
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = links.get(stack.join("/"));
    if (link === undefined) continue;
    if (link.startsWith("/") || hops >= MAX_LINK_HOPS) return null;
    stack.pop();
    const resolved = resolveInside([...stack, ...components(link)], links, hops + 1);
    if (resolved === null) return null;
    stack.splice(0, stack.length, ...resolved);
  }
  return stack;
}

/** Every reason the archive is refused (empty when it is safe to extract). */
export function archiveProblems(entries: ArchiveEntry[]): string[] {
  const problems: string[] = [];
  const links = new Map<string, string>();
  for (const entry of entries) {
    if (entry.type === "SymbolicLink" && entry.linkpath !== undefined) {
      links.set(components(entry.path).join("/"), entry.linkpath);
    }
  }
  for (const entry of entries) {
    const name = JSON.stringify(entry.path);
    if (!ALLOWED_TYPES.has(entry.type)) {
      problems.push(`${name}: entry type ${entry.type} is not allowed (only files, directories and links)`);
      continue;
    }
    if (entry.path.includes("\0") || /^[A-Za-z]:/.test(entry.path) || entry.path.startsWith("/") || entry.path.startsWith("\\")) {
      problems.push(`${name}: absolute path`);
      continue;
    }
    const parts = components(entry.path.replace(/\\/g, "/"));
    if (parts.includes("..")) {
      problems.push(`${name}: ".." in the path`);
      continue;
    }
    const parent = parts.slice(0, -1);
    for (let i = 1; i <= parent.length; i++) {
      if (links.has(parent.slice(0, i).join("/"))) {
        problems.push(`${name}: written through the symbolic link ${JSON.stringify(parent.slice(0, i).join("/"))}`);
        break;
      }
    }
    if (entry.type === "SymbolicLink" || entry.type === "Link") {
      const linkpath = entry.linkpath ?? "";
      const kind = entry.type === "Link" ? "hard link" : "symbolic link";
      if (linkpath === "" || linkpath.startsWith("/") || /^[A-Za-z]:/.test(linkpath)) {
        problems.push(`${name}: ${kind} to ${JSON.stringify(linkpath)} points outside the target`);
        continue;
      }
      // A symlink's text is relative to its own directory; a hard link's to the archive root.
      const from = entry.type === "SymbolicLink" ? [...parent, ...components(linkpath)] : components(linkpath);
      if (resolveInside(from, links) === null) problems.push(`${name}: ${kind} to ${JSON.stringify(linkpath)} points outside the target`);
    }
  }
  return problems;
}
