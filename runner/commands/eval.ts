import { defineCommand } from "citty";
import { consola } from "consola";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadCandidates, evaluate } from "../eval/evaluate.ts";
import type { EventFacts } from "../eval/match.ts";
import { changedFiles, gitInfo } from "../git/info.ts";
import { runGit } from "../git/run.ts";
import { WORKFLOW_EVENTS, type WorkflowEvent } from "../protocol/workflow-spec.ts";
import { triggerJobs } from "../triggers/trigger.ts";
import { JOB_ROOT, RUNNER_ENV } from "../protocol/runner-env.ts";
import { EVAL_PROBLEM_PREFIX } from "../protocol/problems.ts";

/** citty keeps only the last of a repeated flag; --changed-file may be given many times. */
export function repeatedFlag(rawArgs: string[], flag: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === `--${flag}` && i + 1 < rawArgs.length) values.push(rawArgs[++i]!);
    else if (arg.startsWith(`--${flag}=`)) values.push(arg.slice(flag.length + 3));
  }
  return values;
}

function fail(message: string): never {
  consola.error(message);
  process.exit(2);
}

const isPullRequest = (event: string) => event.startsWith("pull_request_");

/**
 * Changed files against `base` (merge-base semantics: base...HEAD). The source is a shallow
 * checkout of one commit, so the base commit and the history between are fetched first when
 * missing: from origin, then from the other repositories given (a fork's base lives in the
 * project's repository).
 */
async function changedFilesFetching(dir: string, base: string, otherRemotes: (string | undefined)[]): Promise<string[]> {
  try {
    return await changedFiles(dir, base);
  } catch (first) {
    if (!/^[0-9a-f]{7,64}$/.test(base)) throw first;
    const fetch = (args: string[]) => runGit(["-c", "core.fsmonitor=false", "fetch", "-q", "--no-tags", ...args], dir).catch(() => undefined);
    await fetch(["--unshallow", "origin"]);
    for (const remote of otherRemotes) if (remote && !remote.startsWith("-")) await fetch(["--end-of-options", remote, base]);
    await fetch(["origin", base]);
    return changedFiles(dir, base);
  }
}

export default defineCommand({
  meta: {
    name: "eval",
    description: "Decide which jobs an event runs from .reactorcide/workflows and .reactorcide/jobs in the trusted CI checkout, and trigger them",
  },
  args: {
    "event-type": { type: "string", description: `${WORKFLOW_EVENTS.join(", ")} (default REACTORCIDE_EVENT_TYPE)` },
    branch: { type: "string", description: "Branch the rules match (pull requests: the target branch; default REACTORCIDE_BRANCH)" },
    tag: { type: "string", description: "Tag name, for tag_created (default REACTORCIDE_TAG)" },
    sha: { type: "string", description: "Commit of the event (default REACTORCIDE_SHA, else HEAD of the source)" },
    "pr-number": { type: "string", description: "Pull request number (default REACTORCIDE_PR_NUMBER)" },
    "changed-file": { type: "string", description: "A changed path (repeat for more); default: from git" },
    "base-ref": {
      type: "string",
      description:
        "Commit to diff against for changed files (default: REACTORCIDE_BASE_SHA for pull requests, REACTORCIDE_BEFORE_SHA for pushes, else origin/<branch> for pull requests and HEAD~1 otherwise)",
    },
    "ci-dir": { type: "string", description: "The trusted CI checkout (default <workspace>/ci, else the current directory)" },
    "source-dir": { type: "string", description: "The source checkout (default <workspace>/src, else the CI checkout)" },
    workspace: { type: "string", description: "The directory that stands for /job, as for `run`: CI checkout in ci/, source in src/, triggers.json written there (default REACTORCIDE_WORKSPACE, else /job)" },
    "allow-insecure-transport": { type: "boolean", default: false, description: "Allow an http:// coordinator URL" },
    "dry-run": { type: "boolean", default: false, description: "Print the decisions; trigger nothing" },
    json: { type: "boolean", default: false, description: "Print the decisions and triggers as JSON" },
  },
  async run({ args, rawArgs }) {
    // The daemon's eval job carries the event in its env (daemon/vcs/eval-job.ts); flags win.
    const env = process.env;
    const event = (args["event-type"] ?? env.REACTORCIDE_EVENT_TYPE ?? "") as WorkflowEvent;
    if (!event) fail(`--event-type: required (or REACTORCIDE_EVENT_TYPE): one of ${WORKFLOW_EVENTS.join(", ")}`);
    if (!(WORKFLOW_EVENTS as readonly string[]).includes(event)) fail(`--event-type: must be one of ${WORKFLOW_EVENTS.join(", ")}, got "${event}"`);
    const prNumber = args["pr-number"] ?? (env.REACTORCIDE_PR_NUMBER || undefined);
    if (prNumber !== undefined && !/^[1-9][0-9]{0,9}$/.test(prNumber)) fail("--pr-number: must be a positive whole number");
    const branchArg = args.branch ?? (env.REACTORCIDE_BRANCH || undefined);
    const tag = args.tag ?? (env.REACTORCIDE_TAG || undefined);
    // --workspace means what it means to `run`: the directory that stands for /job, so the CI
    // checkout is <workspace>/ci and the source <workspace>/src.
    const workspace = resolve(args.workspace ?? (env[RUNNER_ENV.workspace] || JOB_ROOT));
    const inWorkspace = (dir: "ci" | "src") => (existsSync(join(workspace, dir)) ? join(workspace, dir) : undefined);
    const ciDir = resolve(args["ci-dir"] ?? inWorkspace("ci") ?? ".");
    if (!existsSync(ciDir)) fail(`--ci-dir: ${ciDir} does not exist`);
    const sourceDir = resolve(args["source-dir"] ?? inWorkspace("src") ?? ciDir);

    let loaded;
    try {
      loaded = loadCandidates(ciDir);
    } catch (error) {
      fail((error as Error).message);
    }
    for (const note of loaded.notes) consola.info(note);
    // One file's problems leave out that file only; they are listed here and make eval fail at the end.
    for (const p of loaded.problems) consola.error(`${EVAL_PROBLEM_PREFIX}${p.field}: ${p.message}`);
    const candidates = loaded.candidates;

    const info = await gitInfo(sourceDir).catch(() => null);
    let files: string[] | null = repeatedFlag(rawArgs, "changed-file");
    if (files.length === 0) {
      const eventBase = isPullRequest(event) ? env.REACTORCIDE_BASE_SHA : env.REACTORCIDE_BEFORE_SHA;
      const base = args["base-ref"] ?? (eventBase && !/^0+$/.test(eventBase) ? eventBase : undefined);
      if (!args["base-ref"] && eventBase && /^0+$/.test(eventBase)) {
        consola.info("a new branch: changed files unknown; path rules will match");
        files = null;
      } else {
        const fallback = isPullRequest(event) && branchArg ? `origin/${branchArg}` : "HEAD~1";
        files = await changedFilesFetching(sourceDir, base ?? fallback, base ? [env.REACTORCIDE_BASE_REPO_URL] : []).catch((error: Error) => {
          consola.warn(`changed files unknown (${error.message}); path rules will match`);
          return null;
        });
      }
    }
    const facts: EventFacts = { event, branch: branchArg ?? info?.branch ?? undefined, tag, changedFiles: files };
    const eventEnv: Record<string, string> = { REACTORCIDE_EVENT_TYPE: event };
    if (facts.branch) eventEnv.REACTORCIDE_BRANCH = facts.branch;
    if (tag) eventEnv.REACTORCIDE_TAG = tag;
    const sha = args.sha ?? (env.REACTORCIDE_SHA || undefined) ?? info?.commit;
    if (sha) eventEnv.REACTORCIDE_SHA = sha;
    if (prNumber) eventEnv.REACTORCIDE_PR_NUMBER = prNumber;

    const result = evaluate(candidates, facts, eventEnv, process.env);
    if (args.json) console.log(JSON.stringify(result));
    else {
      for (const d of result.decisions) {
        if (d.selected) consola.success(`${d.name} (${d.from})`);
        else consola.info(`skip ${d.name} (${d.from}): ${d.reason}`);
      }
    }
    const failed = loaded.problems.length > 0;
    if (args["dry-run"] || result.triggers.length === 0) {
      if (result.triggers.length === 0 && !args.json) consola.info("no job matches this event");
      if (failed) fail("the CI definitions have problems (above); the files without them were evaluated");
      return;
    }
    try {
      await triggerJobs(result.triggers, {
        workspace,
        allowInsecureTransport: args["allow-insecure-transport"] || undefined,
        // With --json the trigger line goes to stderr so stdout stays one JSON document.
        writeLine: args.json ? (line) => process.stderr.write(`${line}\n`) : undefined,
      });
    } catch (error) {
      fail((error as Error).message);
    }
    if (failed) fail("the CI definitions have problems (above); the jobs of the other files were triggered");
  },
});
