import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProtocolError } from "../protocol/problems.ts";
import { loadWorkflow } from "./load.ts";

const dirs: string[] = [];
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "rc-wf-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function problems(root: string, file = "wf.yaml"): string[] {
  try {
    loadWorkflow(join(root, file), { root });
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).problems.map((p) => `${p.field}: ${p.message}`);
  }
  throw new Error("loaded");
}

describe("workflow files", () => {
  test("jobs as a map: vars, needs, for_each with item_var, job_file, default image", () => {
    const root = repo({
      "jobs/deploy.yaml": "command: ./deploy.sh\nenv:\n  FROM_FILE: yes\ntimeout: 60\n",
      "wf.yaml": `
name: ci
image: base:1
vars: { STAGE: test, N: 3 }
jobs:
  test: { command: make test, env: { STAGE: unit } }
  build:
    needs: [test]
    for_each: [linux/amd64, darwin]
    item_var: PLATFORM
    command: make build
  deploy:
    depends_on: [build]
    job_file: jobs/deploy.yaml
    condition: always
    if: env.REACTORCIDE_BRANCH == 'main'
`,
    });
    const wf = loadWorkflow(join(root, "wf.yaml"), { root });
    expect(wf.name).toBe("ci");
    expect(wf.jobs.map((j) => [j.name, j.dependsOn])).toEqual([
      ["test", []],
      ["build-linux-amd64", ["test"]],
      ["build-darwin", ["test"]],
      ["deploy", ["build-linux-amd64", "build-darwin"]],
    ]);
    expect(wf.jobs[0]?.spec.env).toEqual({ STAGE: "unit", N: "3" });
    expect(wf.jobs[1]?.spec).toMatchObject({ image: "base:1", command: "make build", env: { STAGE: "test", PLATFORM: "linux/amd64" } });
    expect(wf.jobs[3]?.spec).toMatchObject({ command: "./deploy.sh", timeout: 60, env: { FROM_FILE: "yes", STAGE: "test" } });
    expect(wf.jobs[3]?.condition).toBe("always");
  });

  test("jobs as a list with steps", () => {
    const root = repo({
      "wf.yaml": `
jobs:
  - name: lint
    steps:
      - { name: a, run: "true" }
      - { name: b, run: "true", if: "steps.a.outcome == 'success'" }
  - name: after
    needs: [lint]
    command: "true"
`,
    });
    const wf = loadWorkflow(join(root, "wf.yaml"), { root });
    expect(wf.jobs.map((j) => j.name)).toEqual(["lint", "after"]);
    expect(wf.jobs[0]?.spec.steps).toHaveLength(2);
  });

  test("every problem is reported with its field", () => {
    const root = repo({
      "wf.yaml": `
colour: red
jobs:
  a: { command: x, needs: [nope], depends_on: [b] }
  b: { command: x, steps: [{ name: s, run: x }] }
  c: { command: x, condition: sometimes }
  d: { command: x, if: "env.X ==" }
  e: { steps: [{ name: s, run: x, depends_on: [t] }] }
  f: { command: x, item_var: X }
  g: { command: x, runs_on: linux }
`,
    });
    expect(problems(root)).toEqual([
      "colour: unknown field; allowed: name, on, vars, image, jobs",
      "jobs.a.needs: use depends_on or needs, not both",
      "jobs.b: needs exactly one of command, steps or job_file",
      'jobs.c.condition: must be one of "all_success", "any_failed", "always"',
      "jobs.d.if: expected a value, found end of expression at column 9",
      'jobs.e.steps[0].depends_on: "t" is not an earlier step',
      "jobs.f.item_var: only with for_each",
      expect.stringContaining("jobs.g.runs_on: unknown field; allowed: image, command, steps"),
    ]);
  });

  test("unknown dependencies and cycles are refused", () => {
    const root = repo({
      "wf.yaml": "jobs:\n  a: { command: x, needs: [c] }\n  b: { command: x, needs: [a] }\n  c: { command: x, needs: [b] }\n  d: { command: x, needs: [zz] }\n",
    });
    expect(problems(root)).toEqual(['jobs.d.depends_on: unknown job "zz"', "jobs: dependency cycle: a → c → b → a"]);
  });

  test("a job_file that is absolute, uses .. or escapes through a link is refused", () => {
    const outside = repo({ "secret.yaml": "command: cat /etc/shadow\n" });
    const root = repo({
      "wf.yaml": `
jobs:
  abs: { job_file: ${join(outside, "secret.yaml")} }
  up: { job_file: ../secret.yaml }
  link: { job_file: jobs/linked.yaml }
  missing: { job_file: jobs/none.yaml }
`,
    });
    mkdirSync(join(root, "jobs"));
    symlinkSync(join(outside, "secret.yaml"), join(root, "jobs", "linked.yaml"));
    expect(problems(root)).toEqual([
      expect.stringMatching(/^jobs.abs.job_file: must be relative to the repository, got absolute/),
      'jobs.up.job_file: must not use "..", got "../secret.yaml"',
      'jobs.link.job_file: "jobs/linked.yaml" leads outside the repository through a link; refused',
      expect.stringMatching(/^jobs.missing.job_file: "jobs\/none.yaml" not found/),
    ]);
  });

  test("a job_file is checked against the job schema", () => {
    const root = repo({ "j.yaml": "command: x\nbogus: 1\n", "wf.yaml": "jobs:\n  a: { job_file: j.yaml }\n" });
    expect(problems(root)).toEqual([expect.stringMatching(/^jobs.a.job_file: bogus: unknown field/)]);
  });
});
