import { defineCommand } from "citty";
import { consola } from "consola";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { loadCandidates, evaluate } from "../eval/evaluate.ts";
import type { EventFacts } from "../eval/match.ts";
import { changedFiles, gitInfo } from "../git/info.ts";
import { ProtocolError } from "../protocol/problems.ts";
import { WORKFLOW_EVENTS, type WorkflowEvent } from "../protocol/workflow-spec.ts";
import { triggerJobs } from "../triggers/trigger.ts";

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

export default defineCommand({
  meta: {
    name: "eval",
    description: "Decide which jobs an event runs from .reactorcide/workflows and .reactorcide/jobs in the trusted CI checkout, and trigger them",
  },
  args: {
    "event-type": { type: "string", required: true, description: WORKFLOW_EVENTS.join(", ") },
    branch: { type: "string", description: "Branch the rules match (pull requests: the target branch)" },
    tag: { type: "string", description: "Tag name, for tag_created" },
    sha: { type: "string", description: "Commit of the event (default: HEAD of the source)" },
    "pr-number": { type: "string", description: "Pull request number" },
    "changed-file": { type: "string", description: "A changed path (repeat for more); default: from git" },
    "base-ref": { type: "string", description: "Ref to diff against for changed files (default: origin/<branch> for pull requests, HEAD~1 otherwise)" },
    "ci-dir": { type: "string", description: "The trusted CI checkout (default /job/ci, else the current directory)" },
    "source-dir": { type: "string", description: "The source checkout (default /job/src, else the CI checkout)" },
    workspace: { type: "string", description: "Where triggers.json goes (default REACTORCIDE_WORKSPACE, else /job)" },
    "allow-insecure-transport": { type: "boolean", default: false, description: "Allow an http:// coordinator URL" },
    "dry-run": { type: "boolean", default: false, description: "Print the decisions; trigger nothing" },
    json: { type: "boolean", default: false, description: "Print the decisions and triggers as JSON" },
  },
  async run({ args, rawArgs }) {
    const event = args["event-type"] as WorkflowEvent;
    if (!(WORKFLOW_EVENTS as readonly string[]).includes(event)) fail(`--event-type: must be one of ${WORKFLOW_EVENTS.join(", ")}, got "${event}"`);
    if (args["pr-number"] !== undefined && !/^[1-9][0-9]{0,9}$/.test(args["pr-number"])) fail("--pr-number: must be a positive whole number");
    const ciDir = resolve(args["ci-dir"] ?? (existsSync("/job/ci") ? "/job/ci" : "."));
    if (!existsSync(ciDir)) fail(`--ci-dir: ${ciDir} does not exist`);
    const sourceDir = resolve(args["source-dir"] ?? (existsSync("/job/src") ? "/job/src" : ciDir));

    let candidates;
    try {
      candidates = loadCandidates(ciDir);
    } catch (error) {
      if (error instanceof ProtocolError) for (const p of error.problems) consola.error(`${p.field}: ${p.message}`);
      fail(error instanceof ProtocolError ? "the CI definitions have problems; nothing was triggered" : (error as Error).message);
    }

    const info = await gitInfo(sourceDir).catch(() => null);
    let files: string[] | null = repeatedFlag(rawArgs, "changed-file");
    if (files.length === 0) {
      const base = args["base-ref"] ?? (isPullRequest(event) && args.branch ? `origin/${args.branch}` : "HEAD~1");
      files = await changedFiles(sourceDir, base).catch((error: Error) => {
        consola.warn(`changed files unknown (${error.message}); path rules will match`);
        return null;
      });
    }
    const facts: EventFacts = { event, branch: args.branch ?? info?.branch ?? undefined, tag: args.tag, changedFiles: files };
    const eventEnv: Record<string, string> = { REACTORCIDE_EVENT_TYPE: event };
    if (facts.branch) eventEnv.REACTORCIDE_BRANCH = facts.branch;
    if (args.tag) eventEnv.REACTORCIDE_TAG = args.tag;
    const sha = args.sha ?? info?.commit;
    if (sha) eventEnv.REACTORCIDE_SHA = sha;
    if (args["pr-number"]) eventEnv.REACTORCIDE_PR_NUMBER = args["pr-number"];

    const result = evaluate(candidates, facts, eventEnv, process.env);
    if (args.json) console.log(JSON.stringify(result));
    else {
      for (const d of result.decisions) {
        if (d.selected) consola.success(`${d.name} (${d.from})`);
        else consola.info(`skip ${d.name} (${d.from}): ${d.reason}`);
      }
    }
    if (args["dry-run"] || result.triggers.length === 0) {
      if (result.triggers.length === 0 && !args.json) consola.info("no job matches this event");
      return;
    }
    try {
      await triggerJobs(result.triggers, {
        workspace: args.workspace,
        allowInsecureTransport: args["allow-insecure-transport"],
        // With --json the trigger line goes to stderr so stdout stays one JSON document.
        writeLine: args.json ? (line) => process.stderr.write(`${line}\n`) : undefined,
      });
    } catch (error) {
      fail((error as Error).message);
    }
  },
});
