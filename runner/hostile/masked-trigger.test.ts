/**
 * Review finding: a job that registers a secret and then triggers a job with that value in its
 * env printed the trigger line masked (`"TOKEN":"***"`); `workflow run` took the line and the
 * triggers file as two requests and ran the follow-up twice, once with "***" as its TOKEN.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli } from "../testing/cli.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";
import type { WorkflowReport } from "../workflow/schedule.ts";

const tempDir = useTempDirs("rc-hostile-trigger");
let binary = "";
beforeAll(async () => {
  binary = await ensureRunnerBinary();
}, 300_000);

/** A project directory holding wf/ci.yaml with this text. */
function projectWith(workflow: string): string {
  const root = tempDir();
  mkdirSync(join(root, "wf"));
  writeFileSync(join(root, "wf", "ci.yaml"), workflow);
  return root;
}

describe("a trigger whose env holds a registered secret", () => {
  test("runs its job once, with the real value", async () => {
    const root = projectWith(
      `
jobs:
  first:
    command: |
      ${binary} register-secret tok-abcdef123
      printf 'job_name: deploy\\njob_command: test "$TOKEN" = tok-abcdef123 && echo deploy has the token\\nenv: { TOKEN: tok-abcdef123 }\\n' > next.yaml
      ${binary} trigger next.yaml
`,
    );
    const r = await runCli(["workflow", "run", "wf/ci.yaml", "--no-container", "--source", "none", "--json"], { cwd: root });
    const report = JSON.parse(r.stdout) as WorkflowReport;
    expect(report.jobs.map((j) => [j.name, j.status])).toEqual([
      ["first", "success"],
      ["deploy", "success"],
    ]);
    expect(r.stderr).toContain("[deploy] deploy has the token");
    expect(r.code).toBe(0);
  }, 60_000);

  test("the follow-up job masks the values its trigger passed on; the workflow file's own env stays readable", async () => {
    const root = projectWith(
      `
jobs:
  first:
    env: { STAGE: staging-env-plain }
    command: |
      ${binary} register-secret tok-zyx987654
      printf 'job_name: deploy\\njob_command: echo "stage=$STAGE token=$TOKEN"\\nenv: { TOKEN: tok-zyx987654, STAGE: staging-env-plain }\\n' > next.yaml
      ${binary} trigger next.yaml
      echo "first stage=$STAGE"
`,
    );
    const r = await runCli(["workflow", "run", "wf/ci.yaml", "--no-container", "--source", "none"], { cwd: root });
    expect(r.code).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain("[first] first stage=staging-env-plain");
    expect(all).toContain("[deploy] stage=*** token=***");
    // (The value shows once, in the echo of the command that registers it.)
    expect(all).not.toContain("token=tok-zyx987654");
    expect(all).not.toContain('"TOKEN":"tok-zyx987654"');
  }, 60_000);
});
