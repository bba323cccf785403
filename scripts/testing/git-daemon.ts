import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../daemon/db/free-port.ts";

export interface GitServer {
  /** git:// URL of the repository, as job containers reach it. */
  url: string;
  /** The commit served (HEAD of the repository it was cloned from). */
  sha: string;
  stop(): void;
}

export interface GitDaemon {
  /** git://host:port/NAME, as job containers reach the bare repository `<base>/NAME`. */
  urlOf(name: string): string;
  stop(): void;
}

/**
 * Serves every bare repository under `base` over git's own protocol with `git daemon`, listening
 * on `host` (the Docker bridge gateway, so job containers reach it as a forge). Pushes into those
 * repositories while it runs are served at once, as a forge serves new commits.
 */
export async function serveGitDirectory(base: string, host: string): Promise<GitDaemon> {
  const port = await freePort(host);
  const proc = Bun.spawn(["git", "daemon", "--reuseaddr", `--base-path=${base}`, "--export-all", `--listen=${host}`, `--port=${port}`, base], {
    stdout: "ignore",
    stderr: "pipe",
  });
  // Ready when it accepts a connection.
  for (let i = 0; i < 100; i++) {
    const ok = await Bun.connect({ hostname: host, port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
    if (ok) break;
    await Bun.sleep(50);
  }
  return { urlOf: (name) => `git://${host}:${port}/${name}`, stop: () => proc.kill() };
}

/** Serves a bare clone of `repo` (its HEAD commit) as `repo.git`; see serveGitDirectory. */
export async function serveRepository(repo: string, host: string): Promise<GitServer> {
  const base = mkdtempSync(join(tmpdir(), "rc-git-daemon-"));
  const clone = Bun.spawnSync(["git", "clone", "-q", "--bare", "--no-local", repo, join(base, "repo.git")], { stdout: "pipe", stderr: "pipe" });
  if (clone.exitCode !== 0) throw new Error(`git clone --bare ${repo}: ${clone.stderr.toString()}`);
  const sha = Bun.spawnSync(["git", "-C", join(base, "repo.git"), "rev-parse", "HEAD"], { stdout: "pipe" }).stdout.toString().trim();
  const daemon = await serveGitDirectory(base, host);
  return {
    url: daemon.urlOf("repo.git"),
    sha,
    stop() {
      daemon.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
