import { describe, expect, test } from "bun:test";
import { globMatch, mismatch, type EventFacts } from "./match.ts";

const push = (branch: string, changedFiles: string[] | null = ["src/a.ts"]): EventFacts => ({ event: "push", branch, changedFiles });

describe("branch globs", () => {
  test("* is one path segment, ** any number, ? one character", () => {
    expect(globMatch("feature/*", "feature/login")).toBe(true);
    expect(globMatch("feature/*", "feature/login/v2")).toBe(false);
    expect(globMatch("feature/**", "feature/login/v2")).toBe(true);
    expect(globMatch("release-?", "release-1")).toBe(true);
    expect(globMatch("release-?", "release-10")).toBe(false);
    expect(globMatch("main", "main")).toBe(true);
    expect(globMatch("main", "main2")).toBe(false);
  });
});

describe("rules", () => {
  test("events", () => {
    expect(mismatch({ events: ["push"] }, push("main"))).toBeNull();
    expect(mismatch({ events: ["pull_request_opened", "pull_request_updated"] }, push("main"))).toBe(
      "event push not in [pull_request_opened, pull_request_updated]",
    );
    expect(mismatch(undefined, push("x"))).toBeNull();
  });

  test("branches and branches_ignore", () => {
    const rules = { branches: ["main", "release/**"], branches_ignore: ["release/old/**"] };
    expect(mismatch(rules, push("main"))).toBeNull();
    expect(mismatch(rules, push("release/2024/q1"))).toBeNull();
    expect(mismatch(rules, push("release/old/x"))).toBe("branch release/old/x is ignored");
    expect(mismatch(rules, push("feature/x"))).toBe("branch feature/x matches none of [main, release/**]");
  });

  test("tags for tag_created", () => {
    const tag = (t: string): EventFacts => ({ event: "tag_created", tag: t, changedFiles: null });
    expect(mismatch({ tags: ["v*"] }, tag("v1.2.0"))).toBeNull();
    expect(mismatch({ tags: ["v*"] }, tag("nightly"))).toBe("tag nightly matches none of [v*]");
    expect(mismatch({ branches: ["main"] }, tag("v1"))).toBe("tag events need `tags` rules when `branches` is set");
    expect(mismatch({ events: ["tag_created"] }, tag("v1"))).toBeNull();
  });

  test("paths include, ! exclude (last match wins), paths_ignore", () => {
    expect(mismatch({ paths: ["src/**"] }, push("main", ["README.md", "src/x/y.ts"]))).toBeNull();
    expect(mismatch({ paths: ["src/**"] }, push("main", ["README.md"]))).toBe("no changed file matches the path rules");
    expect(mismatch({ paths: ["src/**", "!src/**/*.md"] }, push("main", ["src/doc/a.md"]))).toBe("no changed file matches the path rules");
    expect(mismatch({ paths: ["src/**", "!src/**/*.md", "src/keep.md"] }, push("main", ["src/keep.md"]))).toBeNull();
    expect(mismatch({ paths_ignore: ["docs/**", "*.md"] }, push("main", ["docs/a.txt", "README.md"]))).toBe(
      "no changed file matches the path rules",
    );
    expect(mismatch({ paths_ignore: ["docs/**"] }, push("main", ["docs/a.txt", "src/b.ts"]))).toBeNull();
    expect(mismatch({ paths: ["src/**"] }, push("main", []))).toBe("no changed file matches the path rules");
    // Unknown changed files: path rules match rather than miss a job.
    expect(mismatch({ paths: ["src/**"] }, push("main", null))).toBeNull();
  });
});
