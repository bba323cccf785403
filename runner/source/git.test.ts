import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commit, sh, TempDirs, workRepo } from "../git/fixtures.ts";
import { gitInfo } from "../git/info.ts";
import { runGit } from "../git/run.ts";
import { prepareSource, SourceError } from "./prepare.ts";

const temp = new TempDirs();
afterAll(() => temp.cleanup());

/** The remote: main (c0 ← c1 ← c2), feature, tags, PR refs, and a commit no ref reaches. */
const r = {} as {
  bare: string; c0: string; c1: string; c2: string; feature: string;
  pr0: string; pr7: string; mr3: string; hidden: string;
};

beforeAll(() => {
  const work = workRepo(temp.make());
  r.c0 = commit(work, "c0", { "first.txt": "0" });
  r.c1 = commit(work, "c1", { "README.md": "one\n", "dir/a.txt": "a" });
  sh(work, "tag", "-a", "v1.0", "-m", "release 1.0");
  r.c2 = commit(work, "c2", { "README.md": "two\n" });
  sh(work, "tag", "light");
  sh(work, "checkout", "-q", "-b", "feature");
  r.feature = commit(work, "feature", { "feature.txt": "f" });
  sh(work, "checkout", "-q", "-b", "pr", "main");
  r.pr0 = commit(work, "pr first", { "pr.txt": "0" });
  r.pr7 = commit(work, "pr second", { "pr.txt": "7" });
  sh(work, "checkout", "-q", "-b", "mr", "main");
  r.mr3 = commit(work, "mr", { "mr.txt": "3" });
  sh(work, "checkout", "-q", "-b", "hidden", "main");
  r.hidden = commit(work, "hidden", { "hidden.txt": "h" });
  sh(work, "checkout", "-q", "main");

  r.bare = join(temp.make(), "remote.git");
  sh(work, "init", "-q", "--bare", "-b", "main", r.bare);
  sh(work, "push", "-q", r.bare, "main", "feature", "v1.0", "light", "pr:refs/pull/7/head", "mr:refs/merge-requests/3/head", "hidden:refs/hidden/x");
  // The object stays in the remote after its ref is gone: only fetchable by its full SHA.
  sh(r.bare, "update-ref", "-d", "refs/hidden/x");
  sh(r.bare, "config", "uploadpack.allowAnySHA1InWant", "true");
});

const isShallow = (dir: string) => sh(dir, "rev-parse", "--is-shallow-repository") === "true";

describe("git source", () => {
  test("no ref: the remote's default branch, shallow, on a local branch of that name", async () => {
    const target = join(temp.make(), "src");
    const lines: string[] = [];
    const prepared = await prepareSource({ type: "git", url: r.bare }, target, { log: (l) => lines.push(l) });
    expect(prepared).toEqual({ type: "git", dir: target, commit: r.c2, ref: "refs/heads/main" });
    expect(readFileSync(join(target, "README.md"), "utf8")).toBe("two\n");
    expect(await gitInfo(target)).toMatchObject({ branch: "main", commit: r.c2, dirty: false });
    expect(isShallow(target)).toBe(true);
    expect(lines.some((l) => l.includes("fetching refs/heads/main"))).toBe(true);
    expect(lines.at(-1)).toContain(`checked out ${r.c2.slice(0, 12)}`);
  });

  test("a branch and a tag (annotated or lightweight), shallow", async () => {
    const feature = join(temp.make(), "src");
    expect(await prepareSource({ type: "git", url: r.bare, ref: "feature" }, feature)).toMatchObject({ commit: r.feature, ref: "refs/heads/feature" });
    expect(existsSync(join(feature, "feature.txt"))).toBe(true);
    expect((await gitInfo(feature)).branch).toBe("feature");
    expect(isShallow(feature)).toBe(true);

    const tagged = join(temp.make(), "src");
    expect(await prepareSource({ type: "git", url: `file://${r.bare}`, ref: "v1.0" }, tagged)).toMatchObject({ commit: r.c1, ref: "refs/tags/v1.0" });
    expect(await gitInfo(tagged)).toMatchObject({ branch: null, tag: "v1.0", commit: r.c1 });
    expect(isShallow(tagged)).toBe(true);

    const light = join(temp.make(), "src");
    expect((await prepareSource({ type: "git", url: r.bare, ref: "refs/tags/light" }, light)).commit).toBe(r.c2);
  });

  test("a full SHA: a branch tip, an older commit, and one no ref reaches (fetched by SHA)", async () => {
    const tip = join(temp.make(), "src");
    expect(await prepareSource({ type: "git", url: r.bare, ref: r.feature }, tip)).toMatchObject({ commit: r.feature, ref: "refs/heads/feature" });

    const older = join(temp.make(), "src");
    expect((await prepareSource({ type: "git", url: r.bare, ref: r.c1 }, older)).commit).toBe(r.c1);
    expect(isShallow(older)).toBe(true);
    expect(readFileSync(join(older, "README.md"), "utf8")).toBe("one\n");

    const hidden = join(temp.make(), "src");
    expect((await prepareSource({ type: "git", url: r.bare, ref: r.hidden }, hidden)).commit).toBe(r.hidden);
    expect(existsSync(join(hidden, "hidden.txt"))).toBe(true);
    expect(sh(hidden, "for-each-ref", "--format=%(refname)")).not.toContain("hidden");
  });

  test("a short SHA comes from the full history; a short SHA no ref reaches cannot be found", async () => {
    const short = join(temp.make(), "src");
    const lines: string[] = [];
    expect((await prepareSource({ type: "git", url: r.bare, ref: r.c0.slice(0, 8) }, short, { log: (l) => lines.push(l) })).commit).toBe(r.c0);
    expect(isShallow(short)).toBe(false);
    expect(lines.some((l) => l.includes("fetching all branches and tags"))).toBe(true);

    const error = await prepareSource({ type: "git", url: r.bare, ref: r.hidden.slice(0, 10) }, join(temp.make(), "src")).catch((e) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toContain(`full history of all branches and tags for commit ${r.hidden.slice(0, 10)}`);
    expect(error.message).not.toContain("by SHA");
  });

  test("pull and merge request refs from the PR number, alone or with a commit of the request", async () => {
    const github = join(temp.make(), "src");
    expect(await prepareSource({ type: "git", url: r.bare }, github, { prNumber: "7" })).toMatchObject({ commit: r.pr7, ref: "refs/pull/7/head" });
    expect(readFileSync(join(github, "pr.txt"), "utf8")).toBe("7");

    const gitlab = join(temp.make(), "src");
    expect(await prepareSource({ type: "git", url: r.bare }, gitlab, { prNumber: "3" })).toMatchObject({ commit: r.mr3, ref: "refs/merge-requests/3/head" });

    const earlier = join(temp.make(), "src");
    expect(await prepareSource({ type: "git", url: r.bare, ref: r.pr0 }, earlier, { prNumber: "7" })).toMatchObject({ commit: r.pr0, ref: "refs/pull/7/head" });

    const forkBranch = join(temp.make(), "src");
    expect((await prepareSource({ type: "git", url: r.bare, ref: "contributor-branch" }, forkBranch, { prNumber: "7" })).commit).toBe(r.pr7);
    await expect(prepareSource({ type: "git", url: r.bare }, join(temp.make(), "src"), { prNumber: "7; rm" })).rejects.toThrow("prNumber");
    await expect(prepareSource({ type: "git", url: r.bare }, join(temp.make(), "src"), { prNumber: "99" })).rejects.toThrow(
      "prNumber: pull request 99 was not found",
    );
  });

  test("an unknown ref fails, naming everything that was tried", async () => {
    const error = await prepareSource({ type: "git", url: r.bare, ref: "nope" }, join(temp.make(), "src")).catch((e) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error.field).toBe("source.ref");
    expect(error.message).toContain('"nope" was not found');
    expect(error.message).toContain("branch refs/heads/nope; tag refs/tags/nope");

    const sha = await prepareSource({ type: "git", url: r.bare, ref: "deadbeef" }, join(temp.make(), "src"), { prNumber: "9" }).catch((e) => e);
    expect(sha.message).toContain("branch refs/heads/deadbeef");
    expect(sha.message).toContain("advertised ref tips matching commit deadbeef");
    expect(sha.message).toContain("pull request ref refs/pull/9/head containing commit deadbeef");
    expect(sha.message).toContain("pull request ref refs/merge-requests/9/head");
    expect(sha.message).toContain("full history of all branches and tags for commit deadbeef");
  });

  test("replaces stale content only on success; a failure leaves the target as it was", async () => {
    const target = join(temp.make(), "src");
    mkdirSync(join(target, "old-dir"), { recursive: true });
    writeFileSync(join(target, "stale.txt"), "stale");
    await expect(prepareSource({ type: "git", url: r.bare, ref: "nope" }, target)).rejects.toThrow(SourceError);
    expect(readFileSync(join(target, "stale.txt"), "utf8")).toBe("stale");
    expect(existsSync(join(target, ".git"))).toBe(false);

    await prepareSource({ type: "git", url: r.bare, ref: "feature" }, target);
    expect(existsSync(join(target, "stale.txt"))).toBe(false);
    expect(existsSync(join(target, "old-dir"))).toBe(false);
    expect(existsSync(join(target, "feature.txt"))).toBe(true);
    expect(await gitInfo(target)).toMatchObject({ dirty: false, commit: r.feature });
  });

  test("an aborted signal stops the preparation and leaves nothing behind", async () => {
    const target = join(temp.make(), "src");
    await expect(prepareSource({ type: "git", url: r.bare }, target, { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(existsSync(join(target, ".git"))).toBe(false);
  });
});

describe("git source: hostile or bad input", () => {
  const marker = () => join(temp.make(), "pwned");

  test("option-like and command-running URLs are refused before git runs", async () => {
    const pwned = marker();
    const target = join(temp.make(), "src");
    const cases: [string, string][] = [
      [`-oProxyCommand=touch ${pwned}`, 'starts with "-"'],
      [`--upload-pack=touch ${pwned}`, 'starts with "-"'],
      [`ext::sh -c touch% ${pwned}`, "remote-helper transport"],
      [`https://example.invalid/x?ext::sh`, "remote-helper transport"],
      [`fd::17`, "remote-helper transport"],
      [`ssh://-oProxyCommand=touch%20${pwned}/repo`, "host or user"],
      [`-oProxyCommand=x@host:repo`, 'starts with "-"'],
      [`ftp://example.invalid/repo`, 'unsupported URL scheme "ftp://"'],
      ["https://example.invalid/repo\n--upload-pack=x", "control characters"],
    ];
    for (const [url, message] of cases) {
      const error = await prepareSource({ type: "git", url }, target).catch((e) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect(error.field).toBe("source.url");
      expect(error.message).toContain(message);
    }
    expect(existsSync(pwned)).toBe(false);
  });

  test("git itself is run with ext:: disabled, so a URL that slipped through still cannot run a command", async () => {
    const pwned = marker();
    const result = await runGit(["ls-remote", `ext::sh -c touch% ${pwned}`], temp.make());
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("transport 'ext' not allowed");
    expect(existsSync(pwned)).toBe(false);
  });

  test("option-like and refspec-breaking refs are refused", async () => {
    const target = join(temp.make(), "src");
    for (const ref of ["--upload-pack=touch /tmp/x", "-b", "main:refs/heads/evil", "a b", "main..feature", "HEAD~1", "x\ny"]) {
      const error = await prepareSource({ type: "git", url: r.bare, ref }, target).catch((e) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect(error.field).toBe("source.ref");
    }
  });

  test("missing URL, missing directory, a file, an unreachable server: clear errors naming source.url", async () => {
    const dir = temp.make();
    writeFileSync(join(dir, "file"), "x");
    const target = join(temp.make(), "src");
    await expect(prepareSource({ type: "git" }, target)).rejects.toThrow("source.url: missing");
    await expect(prepareSource({ type: "git", url: join(dir, "missing") }, target)).rejects.toThrow("does not exist");
    await expect(prepareSource({ type: "git", url: join(dir, "file") }, target)).rejects.toThrow("is a file, but a directory is expected");
    await expect(prepareSource({ type: "git", url: dir }, target)).rejects.toThrow("cannot read the git repository");
    const unreachable = await prepareSource({ type: "git", url: "http://user:s3cret@127.0.0.1:9/repo.git" }, target).catch((e) => e);
    expect(unreachable.message).toContain("cannot read the git repository at \"http://***@127.0.0.1:9/repo.git\"");
    expect(unreachable.message).not.toContain("s3cret");
    // ssh's own words, not the tail of git's advice ("...: and the repository exists.").
    const ssh = await prepareSource({ type: "git", url: "ssh://git@127.0.0.1:1/repo.git" }, target).catch((e) => e);
    expect(ssh.message).toMatch(/^source\.url: cannot read the git repository at "ssh:\/\/\*\*\*@127\.0\.0\.1:1\/repo\.git": ssh: connect to host 127\.0\.0\.1 port 1: Connection refused; fatal: Could not read from remote repository\.$/);
    expect(ssh.message).not.toContain("and the repository exists");
  });
});
