import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRef, displayUrl, gitLocation } from "./location.ts";

describe("git source locations", () => {
  test("the ordinary remote forms are accepted as given", () => {
    for (const url of [
      "https://github.com/org/repo.git",
      "http://127.0.0.1:8080/repo",
      "https://x-access-token:abc@github.com/org/repo.git",
      "ssh://git@github.com/org/repo.git",
      "ssh://git@host:2222/~user/repo",
      "git://example.com/repo.git",
      "git@github.com:org/repo.git",
      "gitlab.example.com:group/sub/repo.git",
    ]) {
      expect(gitLocation(url)).toEqual({ kind: "remote", url });
    }
  });

  test("local paths and file:// URLs become absolute directory paths", () => {
    const dir = mkdtempSync(join(tmpdir(), "rc-loc-"));
    expect(gitLocation(dir)).toEqual({ kind: "local", path: dir, url: dir });
    expect(gitLocation(`file://${dir}`)).toEqual({ kind: "local", path: dir, url: `file://${dir}` });
    expect(() => gitLocation("file://otherhost/repo")).toThrow("not a valid file:// URL");
  });

  test("refs: names and SHAs pass, empty means none", () => {
    for (const ref of ["main", "feature/x-1", "v1.2.3", "refs/pull/7/head", "0123abcd", "release@2024"]) expect(checkRef(ref)).toBe(ref);
    expect(checkRef("")).toBeUndefined();
    expect(() => checkRef("refs/heads/")).toThrow("source.ref");
    expect(() => checkRef("x.lock")).toThrow("source.ref");
  });

  test("credentials in a URL print as ***", () => {
    expect(displayUrl("https://user:token@host/repo")).toBe("https://***@host/repo");
    expect(displayUrl("git@host:repo")).toBe("git@host:repo");
  });
});
