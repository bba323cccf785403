import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FieldError } from "../errors/problem.ts";
import { envFilePath, formatEnvLine, loadJobEnv, parseEnvLines } from "./env-file.ts";
import { assertInsideWorkspace, hostPath, normalizeJobPath } from "./paths.ts";

const base = mkdtempSync(join(tmpdir(), "reactorcide-paths-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function refusal(fn: () => unknown): FieldError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FieldError);
    return error as FieldError;
  }
  throw new Error("expected a refusal");
}

describe("job paths", () => {
  test("normalises paths inside /job and maps them onto the workspace", () => {
    expect(normalizeJobPath("/job/./src//lib/../", "code_dir")).toBe("/job/src");
    expect(normalizeJobPath("/job", "code_dir")).toBe("/job");
    expect(hostPath("/w", "/job/ci", "x")).toBe("/w/ci");
    expect(hostPath("/w", "/job", "x")).toBe("/w");
  });

  test.each([
    ["/jobx", "inside /job"],
    ["/job/../etc", "inside /job"],
    ["/job/src/../../etc/passwd", "inside /job"],
    ["/", "inside /job"],
    ["src", "absolute"],
    ["../job/src", "absolute"],
    ["/job/src\0/x", "NUL"],
  ])("refuses %p, naming the field", (path, why) => {
    const error = refusal(() => normalizeJobPath(path, "--code-dir"));
    expect(error.field).toBe("--code-dir");
    expect(error.message).toContain(why);
  });

  test("a symlink inside the workspace that points outside is refused", () => {
    const ws = join(base, "ws-link");
    mkdirSync(ws, { recursive: true });
    symlinkSync("/etc", join(ws, "src"));
    const error = refusal(() => assertInsideWorkspace(ws, join(ws, "src", "new-dir"), "code_dir"));
    expect(error.message).toContain("outside the workspace");
    expect(assertInsideWorkspace(ws, join(ws, "other", "deeper"), "code_dir")).toBe(join(ws, "other", "deeper"));
  });
});

describe("job env", () => {
  test("inline lines: comments, export, quotes; a malformed line names its number", () => {
    expect(parseEnvLines("# c\nA=1\n\nexport B='two words'\nC=x=y\n", "--job-env")).toEqual({ A: "1", B: "two words", C: "x=y" });
    const error = refusal(() => parseEnvLines("A=1\nnot a pair\n", "--job-env"));
    expect(error.field).toBe("--job-env");
    expect(error.message).toContain("line 2");
    expect(refusal(() => parseEnvLines("1A=x", "f")).message).toContain("line 1");
  });

  test("double quotes read \\n, \\r, \\\" and \\\\ as escapes (single quotes stay literal); formatEnvLine round-trips any value", () => {
    expect(parseEnvLines(`A="l1\\nl2"\nB='l1\\nl2'\nC="say \\"hi\\" \\\\ done"`, "f")).toEqual({ A: "l1\nl2", B: "l1\\nl2", C: 'say "hi" \\ done' });
    const values = ["-----BEGIN KEY-----\nabc\r\n-----END KEY-----", 'q"uo\\te\\n', "  blanks  ", "'single'", "", "a=b#c"];
    const text = values.map((v, i) => formatEnvLine(`V${i}`, v)).join("\n");
    expect(text.split("\n")).toHaveLength(values.length);
    expect(Object.values(parseEnvLines(text, "f"))).toEqual(values);
  });

  test("an env file is read from inside the workspace, by /job path, relative path or host path", () => {
    const ws = join(base, "ws-env");
    mkdirSync(ws, { recursive: true });
    writeFileSync(join(ws, "job.env"), "A=from-file\n");
    expect(loadJobEnv(ws, "/job/job.env", "f")).toEqual({ A: "from-file" });
    expect(loadJobEnv(ws, "job.env", "f")).toEqual({ A: "from-file" });
    expect(loadJobEnv(ws, join(ws, "job.env"), "f")).toEqual({ A: "from-file" });
  });

  test.each([["/etc/passwd"], ["../outside.env"], ["/job/../etc/passwd"], ["/jobx/a.env"], ["link.env"]])(
    "refuses env file %p outside the workspace",
    (path) => {
      const ws = join(base, "ws-hostile");
      mkdirSync(ws, { recursive: true });
      writeFileSync(join(base, "outside.env"), "STOLEN=1\n");
      try {
        symlinkSync(join(base, "outside.env"), join(ws, "link.env"));
      } catch {}
      const error = refusal(() => loadJobEnv(ws, path, "REACTORCIDE_JOB_ENV"));
      expect(error.field).toBe("REACTORCIDE_JOB_ENV");
      expect(() => envFilePath(ws, path, "x")).toThrow();
    },
  );

  test("a missing env file is an error, not an empty environment", () => {
    const ws = join(base, "ws-missing");
    mkdirSync(ws, { recursive: true });
    expect(refusal(() => loadJobEnv(ws, "/job/none.env", "--job-env")).message).toContain("not found");
  });
});
