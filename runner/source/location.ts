/**
 * Validates where a source comes from. A URL or ref reaches git as an argument, so anything git
 * could read as an option (leading "-") or as a command-running transport (`ext::`, any
 * `<helper>::address`) is refused before git runs.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SourceError } from "./error.ts";
import { displayUrl } from "./url-credentials.ts";

export { displayUrl, urlWithoutCredentials } from "./url-credentials.ts";

const CONTROL = /[\x00-\x1f\x7f]/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const HELPER = /^([A-Za-z][A-Za-z0-9+.-]*)::/;
/** `[user@]host:path` with the colon before any slash, as git reads it (ssh). */
const SCP_LIKE = /^(?:([^@/:]+)@)?([^@/:]+):(?!\/\/)/;
const GIT_SCHEMES = ["http", "https", "ssh", "git", "file", "git+ssh", "ssh+git"];

export type GitLocation = { kind: "local"; path: string; url: string } | { kind: "remote"; url: string };

function requireUrl(url: string | undefined, type: string): string {
  if (url === undefined || url.trim() === "") throw new SourceError("source.url", `missing: a ${type} source needs a URL or path`);
  if (CONTROL.test(url)) throw new SourceError("source.url", "must not contain control characters or newlines");
  if (url.startsWith("-")) throw new SourceError("source.url", `"${url}" starts with "-" (it would be read as a git option); refused`);
  return url;
}


/** Local directory path or file:// URL → absolute path that must be an existing directory. */
export function localDirectory(url: string | undefined, type: string): string {
  const path = toLocalPath(requireUrl(url, type));
  if (!existsSync(path)) throw new SourceError("source.url", `directory "${path}" does not exist`);
  if (!statSync(path).isDirectory()) throw new SourceError("source.url", `"${path}" is a file, but a directory is expected`);
  return path;
}

function toLocalPath(url: string): string {
  if (url.startsWith("file://")) {
    try {
      return fileURLToPath(url);
    } catch (error) {
      throw new SourceError("source.url", `"${url}" is not a valid file:// URL (${(error as Error).message})`);
    }
  }
  return resolve(url);
}

/** A git remote: local path, file://, http(s)://, ssh://, git://, or scp-like `git@host:path`. */
export function gitLocation(raw: string | undefined): GitLocation {
  const url = requireUrl(raw, "git");
  if (/ext::/i.test(url) || HELPER.test(url)) {
    throw new SourceError(
      "source.url",
      `"${url}" uses a git remote-helper transport ("<transport>::"), which can run commands; allowed: a local path, file://, http(s)://, ssh://, git:// or user@host:path`,
    );
  }
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (!GIT_SCHEMES.includes(scheme)) {
      throw new SourceError("source.url", `unsupported URL scheme "${scheme}://"; allowed: ${GIT_SCHEMES.map((s) => `${s}://`).join(", ")}, a local path or user@host:path`);
    }
    const authority = url.slice(scheme.length + 3).split("/")[0] ?? "";
    const host = authority.slice(authority.lastIndexOf("@") + 1);
    if (host.startsWith("-") || authority.startsWith("-")) {
      throw new SourceError("source.url", `the host or user in "${displayUrl(url)}" starts with "-" (it would be read as an ssh option); refused`);
    }
    if (scheme === "file") {
      const path = localDirectory(url, "git");
      return { kind: "local", path, url };
    }
    return { kind: "remote", url };
  }
  const scp = SCP_LIKE.exec(url);
  if (scp) {
    if (scp[2]?.startsWith("-") || scp[1]?.startsWith("-")) {
      throw new SourceError("source.url", `the host or user in "${url}" starts with "-" (it would be read as an ssh option); refused`);
    }
    return { kind: "remote", url };
  }
  const path = localDirectory(url, "git");
  return { kind: "local", path, url: path };
}

/** Local archive path or file:// URL → absolute path of an existing file; http(s) URLs pass through. */
export function tarballLocation(raw: string | undefined): { kind: "local"; path: string } | { kind: "remote"; url: string } {
  const url = requireUrl(raw, "tarball");
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") return { kind: "remote", url };
  if (scheme !== undefined && scheme !== "file") {
    throw new SourceError("source.url", `unsupported URL scheme "${scheme}://" for a tarball; allowed: http://, https://, file:// or a local path`);
  }
  const path = toLocalPath(url);
  if (!existsSync(path)) throw new SourceError("source.url", `archive "${path}" does not exist`);
  if (!statSync(path).isFile()) throw new SourceError("source.url", `"${path}" is a directory, but an archive file (.tar, .tar.gz, .tgz) is expected`);
  return { kind: "local", path };
}

/** Characters and sequences git forbids in ref names, plus ":" which would split a refspec. */
const BAD_REF = /[\s\x00-\x1f\x7f:?*[\\^~]|\.\.|@\{|\/\/|^\/|\/$|\.lock$|\.$/;

/** A branch, tag, full ref name or (short) commit SHA; refused if git could misread it. */
export function checkRef(ref: string | undefined): string | undefined {
  if (ref === undefined || ref === "") return undefined;
  if (ref.startsWith("-")) throw new SourceError("source.ref", `"${ref}" starts with "-" (it would be read as a git option); refused`);
  if (BAD_REF.test(ref)) {
    throw new SourceError(
      "source.ref",
      `"${ref}" is not a valid ref: give a branch, tag, refs/... name or commit SHA (no spaces, control characters, ":", "?", "*", "[", "\\", "^", "~", "..", "@{")`,
    );
  }
  return ref;
}

export function checkPrNumber(prNumber: string | undefined): string | undefined {
  if (prNumber === undefined || prNumber === "") return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(prNumber)) throw new SourceError("prNumber", `"${prNumber}" is not a pull/merge request number (a positive integer)`);
  return prNumber;
}
