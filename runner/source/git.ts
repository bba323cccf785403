/**
 * The `git` source: one `git ls-remote` to see what the remote offers, then the cheapest fetch that
 * gets the wanted commit — a shallow fetch of a branch, tag, pull/merge request ref or full SHA,
 * and a full-history fetch only for a short SHA or a commit the shallow fetches cannot reach.
 */
import { resolve } from "node:path";
import { type GitRunOptions, git, runGit } from "../git/run.ts";
import { SourceError } from "./error.ts";
import { checkPrNumber, checkRef, displayUrl, gitLocation, urlWithoutCredentials } from "./location.ts";
import type { PreparedSource, PrepareOptions, SourceSpec } from "./types.ts";
import { replaceTargetWith } from "./staging.ts";

const HEX = /^[0-9a-f]{4,64}$/i;
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

interface Found {
  commit: string;
  /** The remote ref that led to the commit, when one did. */
  ref?: string;
  /** Set for branches, so the checkout is on a local branch of that name. */
  branch?: string;
}

interface Repo {
  dir: string;
  url: string;
  tips: Map<string, string>;
  run: GitRunOptions;
  log: (message: string) => void;
}

/** Where a fetched remote ref is kept locally. */
function localRef(remoteRef: string): string {
  if (remoteRef.startsWith("refs/heads/")) return `refs/remotes/origin/${remoteRef.slice(11)}`;
  if (remoteRef === "HEAD") return "refs/remotes/origin/HEAD";
  return remoteRef;
}

async function commitOf(repo: Repo, rev: string): Promise<string | null> {
  const out = await runGit(["rev-parse", "--verify", "-q", "--end-of-options", `${rev}^{commit}`], repo.dir, repo.run);
  return out.code === 0 ? out.stdout.trim() : null;
}

async function fetchRef(repo: Repo, remoteRef: string, shallow: boolean): Promise<string | null> {
  repo.log(`git: fetching ${remoteRef} from ${displayUrl(repo.url)}${shallow ? " (depth 1)" : ""}`);
  const depth = shallow ? ["--depth", "1"] : [];
  const dst = localRef(remoteRef);
  const out = await runGit(["fetch", "-q", "--no-tags", ...depth, "origin", `+${remoteRef}:${dst}`], repo.dir, repo.run);
  return out.code === 0 ? commitOf(repo, dst) : null;
}

/** Named refs: exact `refs/...`/HEAD, then branch, then tag — the order git itself uses. */
async function byName(repo: Repo, ref: string, tried: string[]): Promise<Found | null> {
  const names = ref === "HEAD" || ref.startsWith("refs/") ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  for (const name of names) {
    tried.push(`${name.startsWith("refs/heads/") ? "branch" : name.startsWith("refs/tags/") ? "tag" : "ref"} ${name}`);
    if (!repo.tips.has(name)) continue;
    const commit = await fetchRef(repo, name, true);
    if (commit) return { commit, ref: name, branch: name.startsWith("refs/heads/") ? name.slice(11) : undefined };
  }
  return null;
}

/** A SHA (or prefix) that is the tip of some advertised ref: a shallow fetch of that ref. */
async function byTip(repo: Repo, sha: string, tried: string[]): Promise<Found | null> {
  tried.push(`advertised ref tips matching commit ${sha}`);
  const lower = sha.toLowerCase();
  for (const [name, tip] of repo.tips) {
    if (!tip.startsWith(lower) || name.startsWith("ref: ")) continue;
    // "refs/tags/v1^{}" is the commit an annotated tag points at; fetch the tag itself.
    const refName = name.endsWith("^{}") ? name.slice(0, -3) : name;
    const commit = await fetchRef(repo, refName, true);
    if (commit?.startsWith(lower)) return { commit, ref: refName };
  }
  return null;
}

/** The pull/merge request head; with a SHA, that commit within the request's history. */
async function byPullRequest(repo: Repo, prNumber: string, sha: string | undefined, tried: string[]): Promise<Found | null> {
  for (const name of [`refs/pull/${prNumber}/head`, `refs/merge-requests/${prNumber}/head`]) {
    tried.push(`pull request ref ${name}${sha ? ` containing commit ${sha}` : ""}`);
    if (!repo.tips.has(name)) continue;
    if (!sha) {
      const commit = await fetchRef(repo, name, true);
      if (commit) return { commit, ref: name };
      continue;
    }
    if (await fetchRef(repo, name, false)) {
      const commit = await commitOf(repo, sha);
      if (commit) return { commit, ref: name };
    }
  }
  return null;
}

/** A full SHA fetched directly; works when the server allows wants of unadvertised commits. */
async function byShaFetch(repo: Repo, sha: string, tried: string[]): Promise<Found | null> {
  tried.push(`fetching commit ${sha} by SHA`);
  repo.log(`git: fetching commit ${sha} from ${displayUrl(repo.url)} (depth 1)`);
  const out = await runGit(["fetch", "-q", "--no-tags", "--depth", "1", "origin", sha.toLowerCase()], repo.dir, repo.run);
  if (out.code !== 0) return null;
  const commit = await commitOf(repo, sha);
  return commit ? { commit } : null;
}

/** Last resort for short SHAs: every branch and tag with full history, then look the commit up. */
async function byHistory(repo: Repo, sha: string, tried: string[]): Promise<Found | null> {
  tried.push(`full history of all branches and tags for commit ${sha}`);
  repo.log(`git: fetching all branches and tags from ${displayUrl(repo.url)} to find ${sha}`);
  const shallow = (await runGit(["rev-parse", "--is-shallow-repository"], repo.dir, repo.run)).stdout.trim() === "true";
  const args = ["fetch", "-q", ...(shallow ? ["--unshallow"] : []), "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"];
  const out = await runGit(args, repo.dir, repo.run);
  if (out.code !== 0) return null;
  const commit = await commitOf(repo, sha);
  return commit ? { commit } : null;
}

// git's advice after a failed ssh or http fetch, which says nothing about this failure.
const BOILERPLATE = /^(Please make sure you have the correct access rights|and the repository exists\.?)$/;

/** What went wrong, from git's stderr: its fatal and error lines and what ssh said, not the advice after them. */
export function gitFailure(stderr: string, code: number): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !BOILERPLATE.test(l));
  return lines.slice(0, 3).join("; ") || `git exited ${code}`;
}

/** Advertised refs (name → SHA); `HEAD` also maps, under "ref: HEAD", to the branch it points at. */
async function listTips(dir: string, url: string, run: GitRunOptions): Promise<Map<string, string>> {
  const out = await runGit(["ls-remote", "--symref", "origin"], dir, run);
  if (out.code !== 0) {
    const reason = gitFailure(out.stderr, out.code).split(url).join(displayUrl(url));
    throw new SourceError("source.url", `cannot read the git repository at "${displayUrl(url)}": ${reason}`);
  }
  const tips = new Map<string, string>();
  for (const line of out.stdout.split("\n")) {
    const [sha, name] = line.split("\t");
    if (sha?.startsWith("ref: ") && name === "HEAD") tips.set("ref: HEAD", sha.slice(5));
    else if (sha && name) tips.set(name, sha.toLowerCase());
  }
  return tips;
}

async function find(repo: Repo, ref: string | undefined, prNumber: string | undefined): Promise<Found> {
  const tried: string[] = [];
  const sha = ref && HEX.test(ref) ? ref : undefined;
  const found =
    (ref && (await byName(repo, ref, tried))) ||
    (sha && (await byTip(repo, sha, tried))) ||
    (prNumber && (await byPullRequest(repo, prNumber, sha, tried))) ||
    (!ref && !prNumber && (await byName(repo, repo.tips.get("ref: HEAD") ?? "HEAD", tried))) ||
    (sha && FULL_SHA.test(sha) && (await byShaFetch(repo, sha, tried))) ||
    (sha && (await byHistory(repo, sha, tried))) ||
    null;
  if (found) return found;
  const what = ref ? `"${ref}"` : prNumber ? `pull request ${prNumber}` : "the default branch (HEAD)";
  throw new SourceError(ref ? "source.ref" : prNumber ? "prNumber" : "source.url", `${what} was not found in ${displayUrl(repo.url)}; tried: ${tried.join("; ")}`);
}

export async function prepareGit(spec: SourceSpec, targetDir: string, options: PrepareOptions = {}): Promise<PreparedSource> {
  const location = gitLocation(spec.url);
  const ref = checkRef(spec.ref);
  const prNumber = checkPrNumber(options.prNumber);
  const log = options.log ?? (() => {});
  const run: GitRunOptions = { signal: options.signal, redact: location.url === displayUrl(location.url) ? [] : [location.url] };
  return replaceTargetWith(targetDir, async (stage) => {
    await git(["init", "-q", stage], stage, run);
    await git(["remote", "add", "origin", location.url], stage, run);
    const tips = await listTips(stage, location.url, run);
    const found = await find({ dir: stage, url: location.url, tips, run, log }, ref, prNumber);
    const checkout = found.branch ? ["checkout", "-q", "-B", found.branch, found.commit] : ["checkout", "-q", "--detach", found.commit];
    await git(checkout, stage, run);
    const kept = urlWithoutCredentials(location.url);
    if (kept !== location.url) await git(["remote", "set-url", "origin", kept], stage, run);
    log(`git: checked out ${found.commit.slice(0, 12)}${found.ref ? ` (${found.ref})` : ""}`);
    return { type: "git", dir: resolve(targetDir), commit: found.commit, ref: found.ref ?? ref };
  });
}
