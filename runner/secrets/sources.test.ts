import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FieldError } from "../errors/problem.ts";
import { resolveJobSecrets } from "./sources.ts";

const root = mkdtempSync(join(tmpdir(), "secret-sources-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const workspace = join(root, "job");
mkdirSync(workspace);
const outside = join(root, "outside.txt");
writeFileSync(outside, "outside-value\n");

const jobEnv = { API_TOKEN: "tok-123456", DB_PASSWORD: "pw-abcdef", REACTORCIDE_JOB_NAME: "build", EMPTY: "" };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof FieldError) return error.field;
    throw error;
  }
  throw new Error("expected a FieldError");
}

describe("resolveJobSecrets", () => {
  test("default: every job variable not starting with REACTORCIDE_ is secret", () => {
    const s = resolveJobSecrets({}, jobEnv, workspace);
    expect(s.usedDefault).toBe(true);
    expect(s.values.sort()).toEqual(["", "pw-abcdef", "tok-123456"].sort());
    expect(s.values).not.toContain("build");
  });

  test("an explicit list replaces the default; empty masks nothing", () => {
    expect(resolveJobSecrets({ valuesList: " one-value , two-value,," }, jobEnv, workspace).values).toEqual(["one-value", "two-value"]);
    expect(resolveJobSecrets({ valuesList: "" }, jobEnv, workspace)).toMatchObject({ values: [], usedDefault: false });
    expect(resolveJobSecrets({ envNames: "" }, jobEnv, workspace).values).toEqual([]);
  });

  test("env names pick those variables' values and report unknown names", () => {
    const s = resolveJobSecrets({ envNames: "API_TOKEN, NOPE" }, jobEnv, workspace);
    expect(s.values).toEqual(["tok-123456"]);
    expect(s.missingEnvNames).toEqual(["NOPE"]);
  });

  test("a values file inside the workspace, by relative, /job and host path", () => {
    writeFileSync(join(workspace, "secrets.txt"), "first-line-value\r\nsecond, with comma\n\n");
    const expected = ["first-line-value", "second, with comma"];
    expect(resolveJobSecrets({ valuesList: "secrets.txt" }, {}, workspace).values).toEqual(expected);
    expect(resolveJobSecrets({ valuesList: "/job/secrets.txt" }, {}, workspace).values).toEqual(expected);
    expect(resolveJobSecrets({ valuesList: join(workspace, "secrets.txt") }, {}, workspace).values).toEqual(expected);
  });

  test("a values file outside the workspace is refused, also through a symlink or ..", () => {
    expect(fieldOf(() => resolveJobSecrets({ valuesList: outside }, {}, workspace))).toBe("--secret-values-list");
    symlinkSync(outside, join(workspace, "link.txt"));
    expect(fieldOf(() => resolveJobSecrets({ valuesList: "link.txt" }, {}, workspace))).toBe("--secret-values-list");
    expect(fieldOf(() => resolveJobSecrets({ valuesList: "../outside.txt" }, {}, workspace))).toBe("--secret-values-list");
    expect(fieldOf(() => resolveJobSecrets({ valuesList: "./missing.txt", labels: { valuesList: "REACTORCIDE_SECRET_VALUES_LIST" } }, {}, workspace))).toBe(
      "REACTORCIDE_SECRET_VALUES_LIST",
    );
  });

  test("secrets file: values masked and given to the job; bad lines name the field", () => {
    const file = join(root, "secrets.env");
    writeFileSync(file, "# deploy keys\nDEPLOY_KEY=dk-0987654321\nexport QUOTED='q v a l'\n");
    const s = resolveJobSecrets({ secretsFile: file }, jobEnv, workspace);
    expect(s.env).toEqual({ DEPLOY_KEY: "dk-0987654321", QUOTED: "q v a l" });
    expect(s.values.sort()).toEqual(["dk-0987654321", "q v a l"]);
    expect(s.usedDefault).toBe(false); // it replaces the default too
    writeFileSync(file, "GOOD=1\nthis is not a pair\n");
    expect(fieldOf(() => resolveJobSecrets({ secretsFile: file }, {}, workspace))).toBe("--secrets-file");
    expect(fieldOf(() => resolveJobSecrets({ secretsFile: join(root, "nope.env") }, {}, workspace))).toBe("--secrets-file");
  });

  test("settings combine", () => {
    const file = join(root, "combo.env");
    writeFileSync(file, "FROM_FILE=file-secret-1\n");
    const s = resolveJobSecrets({ secretsFile: file, envNames: "DB_PASSWORD,FROM_FILE", valuesList: "listed-one" }, jobEnv, workspace);
    expect(s.values.sort()).toEqual(["file-secret-1", "file-secret-1", "listed-one", "pw-abcdef"].sort());
  });
});
