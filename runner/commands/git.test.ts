import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { commit, sh, TempDirs, workRepo } from "../git/fixtures.ts";
import { runCli } from "../source/cli-fixtures.ts";
import { ensureRunnerBinary } from "../testing/binary.ts";

// This file drives the compiled binary; the other source command tests use the source entry.
const temp = new TempDirs();
let binary: string[];
let repo: string;
let head: string;
beforeAll(async () => {
  binary = [await ensureRunnerBinary()];
  repo = workRepo(temp.make());
  commit(repo, "base", { "README.md": "r" });
  sh(repo, "checkout", "-q", "-b", "feature");
  commit(repo, "work", { "src/a b.ts": "a", "docs/é.md": "e" });
  head = sh(repo, "rev-parse", "HEAD");
  sh(repo, "tag", "v0.3.0");
  sh(repo, "checkout", "-q", "main");
  commit(repo, "main only", { "main.txt": "m" });
  sh(repo, "checkout", "-q", "feature");
}, 300_000);
afterAll(() => temp.cleanup());

describe("reactorcide-runner git (compiled binary)", () => {
  test("files-changed prints one path per line and nothing else on stdout", async () => {
    const result = await runCli(binary, ["git", "files-changed", "main", "--dir", repo], temp.make());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("docs/é.md\nsrc/a b.ts\n");
    const none = await runCli(binary, ["git", "files-changed", "HEAD"], repo);
    expect(none).toMatchObject({ code: 0, stdout: "" });
  });

  test("files-changed with an unknown ref fails with the reason on stderr only", async () => {
    const result = await runCli(binary, ["git", "files-changed", "nope", "--dir", repo], temp.make());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain('ref "nope" is not a commit');
  });

  test("info shows branch, commit, short commit, tag and state; --json for scripts", async () => {
    const text = await runCli(binary, ["git", "info"], repo);
    expect(text.code).toBe(0);
    const short = sh(repo, "rev-parse", "--short", "HEAD");
    expect(text.stdout).toBe(`branch: feature\ncommit: ${head}\nshort commit: ${short}\ntag: v0.3.0\nstate: clean\n`);

    writeFileSync(join(repo, "untracked.txt"), "u");
    const json = await runCli(binary, ["git", "info", "--dir", repo, "--json"], temp.make());
    expect(JSON.parse(json.stdout)).toEqual({ branch: "feature", commit: head, shortCommit: short, tag: "v0.3.0", dirty: true });

    const outside = await runCli(binary, ["git", "info", "--dir", temp.make()], repo);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain("is not inside a git work tree");
  });
});
