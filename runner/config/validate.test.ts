import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JOB_SOURCE_TYPES } from "../protocol/job.ts";
import { SOURCE_TYPES } from "../source/prepare.ts";
import { loadJobFile } from "./job-file.ts";
import { resolveConfig } from "./resolve.ts";
import { hasErrors, validateAll, validateConfig } from "./validate.ts";

const dir = mkdtempSync(join(tmpdir(), "reactorcide-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ws = join(dir, "ws");

function problemsFor(flags: Record<string, string | boolean>, env: Record<string, string> = {}) {
  return validateConfig(resolveConfig({ env, flags: { workspace: ws, ...flags }, cwd: dir, inContainer: false }));
}

describe("validate", () => {
  test("a plain command is valid", () => {
    expect(problemsFor({ "job-command": "true" })).toEqual([]);
  });

  test("reports every problem at once, each naming the field as given, with what is allowed", () => {
    const problems = problemsFor(
      { "code-dir": "/jobx", "job-dir": "/job/../etc", "source-type": "svn", runtime: "lxc", memory: "lots", pids: "3" },
      { REACTORCIDE_CI_SOURCE_TYPE: "git", REACTORCIDE_TIMEOUT: "soon" },
    );
    const fields = problems.filter((p) => p.severity === "error").map((p) => p.field).sort();
    expect(fields).toEqual(
      ["--code-dir", "--job-dir", "--memory", "--pids", "--runtime", "--source-type", "ci_source_url", "REACTORCIDE_TIMEOUT", "job_command"].sort(),
    );
    const runtime = problems.find((p) => p.field === "--runtime")!;
    expect(runtime.allowed).toBe("docker, nerdctl, podman");
    expect(runtime.suggestion).toContain("docker");
    expect(problems.find((p) => p.field === "job_command")!.suggestion).toContain("--job-command");
  });

  test("warnings do not make a configuration invalid", () => {
    const problems = problemsFor({ "job-command": "true", "source-url": "https://example.com/r.git", runtime: "podman" });
    expect(problems.map((p) => [p.severity, p.field])).toEqual([
      ["warning", "--source-url"],
      ["warning", "--runtime"],
    ]);
    expect(hasErrors(problems)).toBe(false);
  });

  test("a ref on a non-git source and the source over /job/ci are refused", () => {
    const fields = problemsFor({ "job-command": "true", "source-type": "copy", "source-url": "/x", "source-ref": "main", "ci-source-type": "copy", "ci-source-url": "/y", "code-dir": "/job/ci" })
      .filter((p) => p.severity === "error")
      .map((p) => p.field);
    expect(fields.sort()).toEqual(["--code-dir", "--source-ref"]);
  });

  test("dangerous workspaces are refused", () => {
    for (const workspace of ["/", "/etc", dir]) {
      const problems = validateConfig(resolveConfig({ env: {}, flags: { workspace, "job-command": "true" }, cwd: join(dir, "sub"), inContainer: false }));
      expect([workspace, problems.map((p) => p.field)]).toEqual([workspace, ["--workspace"]]);
    }
  });

  test("in a container, env values with newlines are refused (env files hold one line each)", () => {
    const problems = problemsFor({ "job-command": "true", image: "x", "job-env": "A=1" });
    expect(problems).toEqual([]);
    const job = { spec: { env: { MULTI: "a\nb" } }, file: "j.yaml" };
    const r = resolveConfig({ env: {}, job, flags: { workspace: ws, "job-command": "true", image: "x" }, cwd: dir, inContainer: false });
    expect(validateConfig(r).map((p) => p.field)).toEqual(["env.MULTI"]);
  });

  test("a missing image is reported before anything runs, with how to get it", async () => {
    const r = resolveConfig({ env: {}, flags: { workspace: ws, "job-command": "true", image: "reactorcide/runner:no-such-tag" }, cwd: dir, inContainer: false });
    const problems = await validateAll(r);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ severity: "error", field: "--image" });
    expect(problems[0]!.message).toContain("reactorcide/runner:no-such-tag");
    expect(problems[0]!.suggestion).toContain("npm run image");
  });

  test("the job file schema allows the source types source preparation supports", () => {
    expect([...JOB_SOURCE_TYPES].sort()).toEqual([...SOURCE_TYPES].sort());
  });
});

describe("job files", () => {
  test("unknown fields are errors naming the field, all at once, nested too", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "name: ok\ncommand: \"true\"\ncolour: red\nresources:\n  cpu: 1\n  gpus: 2\nsource:\n  type: hg\n");
    const loaded = loadJobFile(file);
    expect(loaded.spec).toBeUndefined();
    const byField = Object.fromEntries(loaded.problems.map((p) => [p.field, p.message]));
    expect(Object.keys(byField).sort()).toEqual(["colour", "resources.gpus", "source.type"]);
    expect(byField.colour).toContain("unknown field; allowed: name, image, command, env, source, ci_source, timeout, resources, steps");
    expect(byField["source.type"]).toContain('"git", "copy", "tarball", "none"');
  });

  test("JSON and YAML both load; steps is accepted as an array for the step runner", () => {
    const json = join(dir, "job.json");
    writeFileSync(json, JSON.stringify({ name: "j", command: "true", steps: [{ name: "a", run: "true" }], resources: { cpu: 0.5, memory: "256m", pids: 64 } }));
    expect(loadJobFile(json)).toMatchObject({ problems: [], spec: { name: "j", steps: [{ name: "a" }] } });
    const yaml = join(dir, "job.yaml");
    writeFileSync(yaml, "steps: not-a-list\n");
    expect(loadJobFile(yaml).problems.map((p) => p.field)).toEqual(["steps"]);
  });

  test("broken syntax, duplicate keys and missing files are clear errors", () => {
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "name: [unclosed\n");
    expect(loadJobFile(broken).problems[0]!.message).toContain("not valid YAML or JSON");
    const dup = join(dir, "dup.yaml");
    writeFileSync(dup, "name: a\nname: b\n");
    expect(loadJobFile(dup).problems[0]!.message).toContain("not valid YAML or JSON");
    expect(loadJobFile(join(dir, "none.yaml")).problems[0]!.message).toContain("does not exist");
  });
});
