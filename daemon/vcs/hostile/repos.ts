/**
 * The repositories of the attack tests, as a forge holds them: the project's own repository
 * (`acme.git`: job code in .reactorcide/ that hands a secret to one job, a plugin, and a test
 * script the job runs from the source) and a fork of it (`fork.git`) whose branches are the
 * attacks, each one commit on top of the base. Both are bare repositories served by `git daemon`
 * on the Docker bridge, so job containers clone them as they would from GitHub.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { serveGitDirectory, type GitDaemon } from "../../../scripts/testing/git-daemon.ts";

export type Files = Record<string, string | null>;

export function git(dir: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

function writeFiles(dir: string, files: Files): void {
  for (const [path, text] of Object.entries(files)) {
    const full = join(dir, path);
    if (text === null) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
    }
  }
}

/** What the base repository's own jobs print, so a test sees which definitions ran. */
export const BASE_MARKS = {
  test: "base test suite: ok",
  plugin: "base plugin audit: loaded from the trusted checkout",
  publish: "publish: deploy token sha256",
} as const;

/**
 * The project's .reactorcide/: workflow `ci` (job `test`: runs scripts/test.sh from the source,
 * as most CI does) and workflow `release` (job `publish`: gets DEPLOY_TOKEN and prints only its
 * SHA-256, so a test can tell it had the real value without the value being printed).
 */
export function baseFiles(image: string): Files {
  return {
    "README.md": "acme\n",
    ".reactorcide/workflows/ci.yaml":
      "name: ci\ntriggers:\n  events: [push, pull_request_opened, pull_request_updated]\n  branches: [main]\njobs:\n  - name: test\n    job_file: test.yaml\n",
    ".reactorcide/workflows/release.yaml":
      "name: release\ntriggers:\n  events: [push, pull_request_opened, pull_request_updated]\n  branches: [main]\njobs:\n  - name: publish\n    job_file: publish.yaml\n",
    ".reactorcide/jobs/test.yaml": `job:\n  image: ${image}\n  command: bash scripts/test.sh\n`,
    ".reactorcide/jobs/publish.yaml": `secrets: [DEPLOY_TOKEN]\njob:\n  image: ${image}\n  command: |\n    printf '${BASE_MARKS.publish} %s\\n' "$(printf %s "$DEPLOY_TOKEN" | sha256sum | cut -d' ' -f1)"\n`,
    ".reactorcide/plugins/audit.ts": `export default { name: "audit", pre_execution(ctx) { ctx.log(${JSON.stringify(BASE_MARKS.plugin)}); } };\n`,
    "scripts/test.sh": `echo '${BASE_MARKS.test}'\n`,
  };
}

export interface Forge {
  daemon: GitDaemon;
  baseUrl: string;
  forkUrl: string;
  /** A repository of another project (project "other"), served beside them. */
  otherUrl: string;
  /** The base repository's main commit (the pull requests' base SHA). */
  baseSha: string;
  /** Commits `files` on a new (or existing) branch of the fork, on top of `from` (default: its tip or the base), and pushes it. */
  pushFork(branch: string, files: Files, message: string): string;
  /** The same on a branch of the base repository itself (a same-repository pull request). */
  pushBase(branch: string, files: Files, message: string): string;
  stop(): void;
}

export async function startForge(root: string, gateway: string, image: string): Promise<Forge> {
  const served = join(root, "git");
  const work = join(root, "work");
  mkdirSync(served, { recursive: true });
  mkdirSync(work, { recursive: true });
  for (const name of ["acme.git", "fork.git", "other.git"]) git(root, "init", "-q", "--bare", join(served, name));
  const base = join(work, "acme");
  mkdirSync(base);
  git(base, "init", "-q", "-b", "main");
  writeFiles(base, baseFiles(image));
  git(base, "add", "-A");
  git(base, "commit", "-q", "-m", "acme: ci");
  git(base, "push", "-q", join(served, "acme.git"), "main");
  git(base, "push", "-q", join(served, "other.git"), "main");
  const baseSha = git(base, "rev-parse", "HEAD");
  // The fork starts as GitHub's fork does: the base repository's history.
  const fork = join(work, "fork");
  git(work, "clone", "-q", join(served, "acme.git"), fork);
  git(fork, "push", "-q", join(served, "fork.git"), "main");

  const push = (dir: string, target: string) => (branch: string, files: Files, message: string) => {
    const exists = git(dir, "branch", "--list", branch) !== "";
    git(dir, "checkout", "-q", ...(exists ? [branch] : ["-b", branch, baseSha]));
    writeFiles(dir, files);
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "--allow-empty", "-m", message);
    git(dir, "push", "-q", "--force", join(served, target), branch);
    return git(dir, "rev-parse", "HEAD");
  };
  const daemon = await serveGitDirectory(served, gateway);
  return {
    daemon,
    baseUrl: daemon.urlOf("acme.git"),
    forkUrl: daemon.urlOf("fork.git"),
    otherUrl: daemon.urlOf("other.git"),
    baseSha,
    pushFork: push(fork, "fork.git"),
    pushBase: push(base, "acme.git"),
    stop: () => daemon.stop(),
  };
}
