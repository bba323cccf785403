/**
 * Runs the git CLI without a shell, with a small allow-listed environment: no terminal prompts,
 * and only the ordinary transports (never `ext::` or other remote helpers that run commands).
 */

/** Environment variables passed through to git (credentials agents, proxies, CA bundles). */
const PASSED_ENV = [
  "PATH", "HOME", "USER", "TMPDIR", "SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND",
  "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
  "GIT_SSL_CAINFO", "SSL_CERT_FILE", "SSL_CERT_DIR",
];

/** Transports git may use; GIT_ALLOW_PROTOCOL makes every other one (ext, fd, helpers) "never". */
export const ALLOWED_PROTOCOLS = ["file", "git", "http", "https", "ssh"] as const;

export function gitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  env.GIT_TERMINAL_PROMPT = "0";
  env.GIT_ALLOW_PROTOCOL = ALLOWED_PROTOCOLS.join(":");
  env.LC_ALL = "C";
  return env;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitRunOptions {
  signal?: AbortSignal;
  /** Text replaced by `***` in error messages (a URL with credentials in it). */
  redact?: string[];
}

/** A git command that exited non-zero; the message holds the command and git's own words. */
export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly result: GitResult,
    redact: string[] = [],
  ) {
    super(redactText(`git ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`, redact));
    this.name = "GitError";
  }
}

export function redactText(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out;
}

/** Runs `git <args>` in `cwd` and returns its exit code and output, whatever the exit code. */
export async function runGit(args: string[], cwd: string, options: GitRunOptions = {}): Promise<GitResult> {
  options.signal?.throwIfAborted();
  const proc = Bun.spawn(["git", ...args], {
    cwd,
    env: gitEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    signal: options.signal,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  options.signal?.throwIfAborted();
  return { code, stdout, stderr };
}

/** Runs `git <args>` and returns its stdout; throws GitError on a non-zero exit. */
export async function git(args: string[], cwd: string, options: GitRunOptions = {}): Promise<string> {
  const result = await runGit(args, cwd, options);
  if (result.code !== 0) throw new GitError(args, result, options.redact);
  return result.stdout;
}
