/**
 * jobs/workflows/ci.yaml done imperatively, as one job script: test and lint in parallel, a
 * build per target, then deploy on main as a follow-up job. Run it with
 *   reactorcide-runner script jobs/scripts/ci.ts        (or: bun runner/main.ts script ...)
 * from a checkout of this repository; `reactorcide` is the runner's library.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitInfo, parallel, runStep, triggerJob } from "reactorcide";

const [test, lint] = await parallel(
  { name: "test", run: 'test -f package.json && test -d runner && echo "layout ok"' },
  { name: "lint", run: "! grep -rInE --include='*.ts' '^(<<<<<<<|>>>>>>>) ' runner daemon schema scripts && echo 'lint ok'" },
);
if (test?.status !== "success" || lint?.status !== "success") {
  console.error("test or lint failed; not building");
  process.exit(1);
}

// Inside a job, artifacts go to /job/artifacts; on a laptop, to a temporary directory.
const workspace = process.env.REACTORCIDE_WORKSPACE ?? "/job";
const inJob = existsSync(workspace);
const artifacts = inJob ? join(workspace, "artifacts") : mkdtempSync(join(tmpdir(), "ci-artifacts-"));
const targets = ["linux-x64", "linux-arm64"];
const builds = await parallel(
  ...targets.map((target) => ({
    name: `build-${target}`,
    run: `mkdir -p "${artifacts}" && tar -czf "${artifacts}/runner-${target}.tgz" runner && echo built ${target}`,
  })),
);
if (builds.some((b) => b.status !== "success")) process.exit(1);

const info = await gitInfo(".");
const branch = process.env.REACTORCIDE_BRANCH ?? info.branch;
if (branch !== "main") {
  console.log(`on ${branch ?? "a detached HEAD"}: no deploy`);
} else if (inJob) {
  // Workflow logic lives in job code: ask for the deploy job with what it needs to know.
  await triggerJob("deploy", { env: { REACTORCIDE_SHA: info.commit, REACTORCIDE_BRANCH: branch } });
} else {
  await runStep("deploy-preview", `echo "would trigger deploy of ${info.shortCommit}"`);
}
