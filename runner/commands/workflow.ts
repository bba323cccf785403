import { defineCommand } from "citty";
import { consola } from "consola";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { gitInfo } from "../git/info.ts";
import type { JobSpec } from "../protocol/job-spec.ts";
import { ProtocolError } from "../protocol/problems.ts";
import { WORKFLOW_EVENTS } from "../protocol/workflow-spec.ts";
import { DEFAULT_IMAGE } from "../protocol/job.ts";
import { processLauncher } from "../workflow/launch.ts";
import { loadWorkflow } from "../workflow/load.ts";
import { formatNextJobs, formatWorkflowSummary } from "../workflow/report.ts";
import { runWorkflow } from "../workflow/schedule.ts";

const SOURCES = ["git", "copy", "none"] as const;

function fail(message: string): never {
  consola.error(message);
  process.exit(2);
}

/** The repository the workflow belongs to: where job_file paths resolve and the source comes from. */
function defaultRoot(file: string): string {
  const rel = relative(process.cwd(), file);
  return !rel.startsWith("..") && !isAbsolute(rel) ? process.cwd() : dirname(file);
}

async function eventEnvironment(root: string, args: { event: string; branch?: string; sha?: string }) {
  const info = await gitInfo(root).catch(() => null);
  const env: Record<string, string> = { REACTORCIDE_EVENT_TYPE: args.event };
  const branch = args.branch ?? info?.branch ?? undefined;
  const sha = args.sha ?? info?.commit;
  if (branch) env.REACTORCIDE_BRANCH = branch;
  if (sha) env.REACTORCIDE_SHA = sha;
  return { env, commit: info?.commit };
}

const run = defineCommand({
  meta: { name: "run", description: "Run a workflow file locally: each job in its own workspace (and container unless --no-container)" },
  args: {
    file: { type: "positional", required: true, description: "The workflow file (YAML)" },
    container: { type: "boolean", default: true, description: "Run each job in a container (--no-container: in place)" },
    "max-parallel": { type: "string", default: "4", description: "How many jobs run at once" },
    job: { type: "string", description: "Run only this job and print what would run next" },
    event: { type: "string", default: "push", description: `The event jobs see (${WORKFLOW_EVENTS.join(", ")})` },
    branch: { type: "string", description: "Branch the jobs see (default: the repository's current branch)" },
    sha: { type: "string", description: "Commit the jobs see (default: HEAD)" },
    root: { type: "string", description: "Repository root (default: the current directory when the file is inside it)" },
    source: { type: "string", default: "git", description: "How each job gets the repository: git (HEAD, committed files), copy (the work tree), none" },
    image: { type: "string", default: DEFAULT_IMAGE, description: "Image for jobs that name none" },
    runtime: { type: "string", description: "Container runtime passed to run-job (docker, nerdctl, podman)" },
    workdir: { type: "string", description: "Where job workspaces go (default: a new temporary directory)" },
    keep: { type: "boolean", default: false, description: "Keep job workspaces afterwards" },
    json: { type: "boolean", default: false, description: "Print the report as JSON on stdout (live output goes to stderr)" },
  },
  async run({ args }) {
    const file = resolve(args.file);
    if (!existsSync(file)) fail(`FILE: ${args.file} not found`);
    const maxParallel = Number(args["max-parallel"]);
    if (!Number.isInteger(maxParallel) || maxParallel < 1) fail(`--max-parallel: must be a whole number ≥ 1, got "${args["max-parallel"]}"`);
    if (!(WORKFLOW_EVENTS as readonly string[]).includes(args.event)) fail(`--event: must be one of ${WORKFLOW_EVENTS.join(", ")}`);
    if (!(SOURCES as readonly string[]).includes(args.source)) fail(`--source: must be one of ${SOURCES.join(", ")}`);
    const root = resolve(args.root ?? defaultRoot(file));

    let workflow;
    try {
      workflow = loadWorkflow(file, { root });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      for (const p of error.problems) consola.error(`${p.field}: ${p.message}`);
      fail(`${args.file}: ${error.problems.length} problem(s); nothing was run`);
    }
    const { env: eventEnv, commit } = await eventEnvironment(root, args);
    let source: JobSpec["source"];
    if (args.source === "git" && commit) source = { type: "git", url: root, ref: commit };
    else if (args.source !== "none") source = { type: "copy", url: root };
    else source = { type: "none" };

    const workRoot = args.workdir ? resolve(args.workdir) : mkdtempSync(join(tmpdir(), "reactorcide-workflow-"));
    const out = args.json ? process.stderr : process.stdout;
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    try {
      const report = await runWorkflow(workflow, {
        launch: processLauncher({
          workRoot,
          noContainer: !args.container,
          defaultImage: args.image,
          source,
          eventEnv,
          runJobArgs: args.runtime ? ["--runtime", args.runtime] : [],
        }),
        maxParallel,
        eventEnv,
        output: (stream, text) => (stream === "stderr" ? process.stderr : out).write(text),
        only: args.job,
        signal: controller.signal,
      });
      if (args.json) console.log(JSON.stringify(report));
      else {
        out.write(`\n${formatWorkflowSummary(report)}`);
        if (args.job) out.write(formatNextJobs(report, ["reactorcide-runner", "workflow", "run", args.file]));
      }
      if (args.keep || args.workdir) {
        // With --json, stdout holds the report and nothing else.
        if (args.json) process.stderr.write(`job workspaces kept in ${workRoot}\n`);
        else consola.info(`job workspaces kept in ${workRoot}`);
      }
      process.exitCode = controller.signal.aborted ? 143 : report.success ? 0 : 1;
    } catch (error) {
      consola.error((error as Error).message);
      process.exitCode = 2;
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      if (!args.keep && !args.workdir) rmSync(workRoot, { recursive: true, force: true });
    }
  },
});

export default defineCommand({
  meta: { name: "workflow", description: "Workflows: jobs with dependencies, each in its own workspace" },
  subCommands: { run },
});
