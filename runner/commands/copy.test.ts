import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TempDirs } from "../git/fixtures.ts";
import { runCli, SOURCE_ENTRY } from "../source/cli-fixtures.ts";

const temp = new TempDirs();
afterAll(() => temp.cleanup());

describe("reactorcide-runner copy", () => {
  test("copies a directory into --dir (default ./src), links kept as links", async () => {
    const cwd = temp.make();
    mkdirSync(join(cwd, "project/empty"), { recursive: true });
    writeFileSync(join(cwd, "project/file.txt"), "content");
    writeFileSync(join(cwd, "secret.txt"), "secret");
    symlinkSync("../secret.txt", join(cwd, "project/out"));

    const result = await runCli(SOURCE_ENTRY, ["copy", "project"], cwd);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`copied project into ${join(cwd, "src")}`);
    expect(readdirSync(join(cwd, "src")).sort()).toEqual(["empty", "file.txt", "out"]);
    expect(lstatSync(join(cwd, "src/out")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(cwd, "src/out"))).toBe("../secret.txt");

    const json = await runCli(SOURCE_ENTRY, ["copy", "project", "--dir", "elsewhere", "--json"], cwd);
    expect(JSON.parse(json.stdout)).toEqual({ type: "copy", dir: join(cwd, "elsewhere") });
    expect(readFileSync(join(cwd, "elsewhere/file.txt"), "utf8")).toBe("content");
  });

  test("a missing directory, a file, or the current directory as target: exit 2, field named", async () => {
    const cwd = temp.make();
    writeFileSync(join(cwd, "file.txt"), "x");
    mkdirSync(join(cwd, "project"));
    const cases: [string[], string][] = [
      [["copy", "missing"], `source.url: directory "${join(cwd, "missing")}" does not exist`],
      [["copy", "file.txt"], "is a file, but a directory is expected"],
      [["copy", "project", "--dir", "."], "contains the current directory"],
      [["copy", "project", "--dir", "project/inner"], "overlap"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(SOURCE_ENTRY, args, cwd);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(readdirSync(cwd).sort()).toEqual(["file.txt", "project"]);
  });
});
