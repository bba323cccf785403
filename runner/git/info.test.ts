import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { commit, sh, TempDirs, workRepo } from "./fixtures.ts";
import { changedFiles, gitInfo } from "./info.ts";

const temp = new TempDirs();
afterAll(() => temp.cleanup());

describe("gitInfo", () => {
  test("branch, full and short commit, tag, and clean or dirty", async () => {
    const repo = workRepo(temp.make());
    commit(repo, "one", { "a.txt": "1" });
    const head = commit(repo, "two", { "a.txt": "2" });
    sh(repo, "tag", "-a", "v1.2.0", "-m", "release");
    const info = await gitInfo(repo);
    expect(info).toEqual({ branch: "main", commit: head, shortCommit: head.slice(0, info.shortCommit.length), tag: "v1.2.0", dirty: false });
    expect(info.shortCommit.length).toBeGreaterThanOrEqual(7);

    writeFileSync(join(repo, "new file.txt"), "untracked");
    expect((await gitInfo(repo)).dirty).toBe(true);
  });

  test("a detached HEAD has no branch, an untagged commit no tag; a modified file is dirty", async () => {
    const repo = workRepo(temp.make());
    const first = commit(repo, "one", { "a.txt": "1" });
    commit(repo, "two", { "a.txt": "2" });
    sh(repo, "checkout", "-q", "--detach", first);
    writeFileSync(join(repo, "a.txt"), "changed");
    expect(await gitInfo(repo)).toMatchObject({ branch: null, commit: first, tag: null, dirty: true });
  });

  test("works from a subdirectory; clear errors outside a repository and before the first commit", async () => {
    const repo = workRepo(temp.make());
    const head = commit(repo, "one", { "sub/dir/a.txt": "1" });
    expect((await gitInfo(join(repo, "sub", "dir"))).commit).toBe(head);
    const plain = temp.make();
    await expect(gitInfo(plain)).rejects.toThrow("is not inside a git work tree");
    await expect(gitInfo(join(plain, "missing"))).rejects.toThrow("does not exist");
    await expect(gitInfo(workRepo(temp.make()))).rejects.toThrow("has no commit yet");
  });
});

describe("changedFiles", () => {
  test("counts only the branch's own changes since the merge base, both sides of a rename, odd names", async () => {
    const repo = workRepo(temp.make());
    commit(repo, "base", { "README.md": "r", "src/old.ts": "o", "keep.txt": "k" });
    sh(repo, "checkout", "-q", "-b", "feature");
    commit(repo, "feature work", { "src/new feature.ts": "n", "docs/ünïcode.md": "u" });
    sh(repo, "mv", "src/old.ts", "src/renamed.ts");
    sh(repo, "commit", "-q", "-m", "rename");
    sh(repo, "checkout", "-q", "main");
    commit(repo, "main moves on", { "main-only.txt": "m" });
    sh(repo, "checkout", "-q", "feature");

    expect(await changedFiles(repo, "main")).toEqual(["docs/ünïcode.md", "src/new feature.ts", "src/old.ts", "src/renamed.ts"]);
    expect(await changedFiles(repo, "HEAD")).toEqual([]);
  });

  test("refuses an option-like or unknown ref, and says when the history is too shallow", async () => {
    const repo = workRepo(temp.make());
    commit(repo, "one", { "a.txt": "1" });
    await expect(changedFiles(repo, "--output=/tmp/x")).rejects.toThrow('ref "--output=/tmp/x" is not allowed');
    await expect(changedFiles(repo, "no-such-branch")).rejects.toThrow('ref "no-such-branch" is not a commit');

    const unrelated = workRepo(temp.make());
    commit(unrelated, "other root", { "b.txt": "b" });
    sh(repo, "fetch", "-q", unrelated, "main:other");
    await expect(changedFiles(repo, "other")).rejects.toThrow("have no common ancestor");

    sh(repo, "checkout", "-q", "-b", "topic");
    commit(repo, "topic", { "t.txt": "t" });
    const shallow = join(temp.make(), "clone");
    sh(repo, "clone", "-q", "--depth", "1", "--no-single-branch", `file://${repo}`, shallow);
    await expect(changedFiles(shallow, "origin/main")).rejects.toThrow("the checkout is shallow");
  });
});
