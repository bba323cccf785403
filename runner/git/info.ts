/**
 * What job scripts ask of a checkout: where HEAD is (branch, commit, tag, dirty) and which files a
 * change touches. Read-only git commands; core.fsmonitor is forced off so a repository's own
 * config cannot make these commands run a program.
 */
import { existsSync, statSync } from "node:fs";
import { git, runGit } from "./run.ts";

export interface GitInfo {
  branch: string | null;
  commit: string;
  shortCommit: string;
  tag: string | null;
  dirty: boolean;
}

const SAFE = ["-c", "core.fsmonitor=false"];

function checkDir(dir: string): void {
  if (!existsSync(dir)) throw new Error(`directory "${dir}" does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`"${dir}" is a file, not a directory`);
}

async function head(dir: string): Promise<string> {
  const inside = await runGit([...SAFE, "rev-parse", "--is-inside-work-tree"], dir);
  if (inside.code !== 0 || inside.stdout.trim() !== "true") {
    throw new Error(`"${dir}" is not inside a git work tree: ${inside.stderr.trim()}`);
  }
  const commit = await runGit([...SAFE, "rev-parse", "--verify", "-q", "HEAD^{commit}"], dir);
  if (commit.code !== 0) throw new Error(`the git repository at "${dir}" has no commit yet`);
  return commit.stdout.trim();
}

/** Branch (null when detached), full and short commit, a tag pointing at HEAD, and whether the work tree has changes (untracked files count). */
export async function gitInfo(dir: string): Promise<GitInfo> {
  checkDir(dir);
  const commit = await head(dir);
  const [branch, short, tag, status] = await Promise.all([
    runGit([...SAFE, "symbolic-ref", "--short", "-q", "HEAD"], dir),
    git([...SAFE, "rev-parse", "--short", "HEAD"], dir),
    runGit([...SAFE, "describe", "--tags", "--exact-match", "HEAD"], dir),
    git([...SAFE, "status", "--porcelain", "-z"], dir),
  ]);
  return {
    branch: branch.code === 0 ? branch.stdout.trim() || null : null,
    commit,
    shortCommit: short.trim(),
    tag: tag.code === 0 ? tag.stdout.trim() || null : null,
    dirty: status.length > 0,
  };
}

/**
 * Files changed between `ref` and HEAD, compared from their merge base (`git diff ref...HEAD`), as
 * CI systems do: changes made on `ref` after the branch point are not counted. Renames list both
 * the old and the new path. Paths are relative to the repository root, sorted.
 */
export async function changedFiles(dir: string, ref: string): Promise<string[]> {
  checkDir(dir);
  if (!ref || ref.startsWith("-") || /[\s\x00-\x1f\x7f]/.test(ref)) {
    throw new Error(`ref "${ref}" is not allowed: give a branch, tag or commit (not empty, no leading "-", no spaces or control characters)`);
  }
  await head(dir);
  const resolved = await runGit([...SAFE, "rev-parse", "--verify", "-q", "--end-of-options", `${ref}^{commit}`], dir);
  if (resolved.code !== 0) throw new Error(`ref "${ref}" is not a commit in "${dir}"`);
  const base = await runGit([...SAFE, "merge-base", resolved.stdout.trim(), "HEAD"], dir);
  if (base.code !== 0) {
    const shallow = (await runGit(["rev-parse", "--is-shallow-repository"], dir)).stdout.trim() === "true";
    throw new Error(
      `"${ref}" and HEAD have no common ancestor in "${dir}"` +
        (shallow ? " (the checkout is shallow: fetch more history, e.g. git fetch --unshallow)" : ""),
    );
  }
  const out = await git([...SAFE, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", base.stdout.trim(), "HEAD"], dir);
  return out.split("\0").filter(Boolean).sort();
}
