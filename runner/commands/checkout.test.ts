import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commit, sh, TempDirs, workRepo } from "../git/fixtures.ts";
import { runCli, SOURCE_ENTRY } from "../source/cli-fixtures.ts";

const temp = new TempDirs();
afterAll(() => temp.cleanup());
const remote = { url: "", main: "", pr: "" };

beforeAll(() => {
  const work = workRepo(temp.make());
  remote.main = commit(work, "main", { "app.txt": "main" });
  sh(work, "tag", "v2.0");
  sh(work, "checkout", "-q", "-b", "pr");
  remote.pr = commit(work, "pr", { "app.txt": "pr" });
  remote.url = join(temp.make(), "remote.git");
  sh(work, "init", "-q", "--bare", "-b", "main", remote.url);
  sh(work, "push", "-q", remote.url, "main", "v2.0", "pr:refs/pull/12/head");
});

describe("reactorcide-runner checkout", () => {
  test("checks out a ref into --dir; --json prints only the result on stdout", async () => {
    const cwd = temp.make();
    const result = await runCli(SOURCE_ENTRY, ["checkout", remote.url, "--ref", "v2.0", "--dir", "job/src", "--json"], cwd);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ type: "git", dir: join(cwd, "job/src"), commit: remote.main, ref: "refs/tags/v2.0" });
    expect(result.stderr).toContain("fetching refs/tags/v2.0");
    expect(readFileSync(join(cwd, "job/src/app.txt"), "utf8")).toBe("main");
  });

  test("defaults to ./src and the default branch; the PR number comes from --pr-number or REACTORCIDE_PR_NUMBER", async () => {
    const cwd = temp.make();
    mkdirSync(join(cwd, "src"));
    writeFileSync(join(cwd, "src", "stale.txt"), "stale");
    const plain = await runCli(SOURCE_ENTRY, ["checkout", remote.url], cwd);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe("");
    expect(plain.stderr).toContain(`${remote.main} (refs/heads/main) checked out in ${join(cwd, "src")}`);
    expect(existsSync(join(cwd, "src", "stale.txt"))).toBe(false);

    const flag = await runCli(SOURCE_ENTRY, ["checkout", remote.url, "--pr-number", "12", "--json"], cwd);
    expect(JSON.parse(flag.stdout)).toMatchObject({ commit: remote.pr, ref: "refs/pull/12/head" });
    const env = await runCli(SOURCE_ENTRY, ["checkout", remote.url, "--dir", "other", "--json"], cwd, { REACTORCIDE_PR_NUMBER: "12" });
    expect(JSON.parse(env.stdout)).toMatchObject({ commit: remote.pr });
  });

  test("bad input exits 2 with the field named; the target is left alone", async () => {
    const cwd = temp.make();
    mkdirSync(join(cwd, "src"));
    writeFileSync(join(cwd, "src", "keep.txt"), "keep");
    const cases: [string[], string][] = [
      [["checkout", remote.url, "--ref", "no-such-ref"], 'source.ref: "no-such-ref" was not found'],
      [["checkout", "--", "--upload-pack=touch /tmp/x"], 'source.url: "--upload-pack=touch /tmp/x" starts with "-"'],
      [["checkout", "ext::sh -c id"], "remote-helper transport"],
      [["checkout", remote.url, "--dir", "."], "--dir: "],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(SOURCE_ENTRY, args, cwd);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe("");
    }
    expect(readFileSync(join(cwd, "src", "keep.txt"), "utf8")).toBe("keep");
  });
});
