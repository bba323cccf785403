import { defineCommand } from "citty";
import { consola } from "consola";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { gitInfo } from "../../runner/git/info.ts";
import { WORKFLOW_EVENTS, type WorkflowEvent } from "../../runner/protocol/workflow-spec.ts";
import type { WorkflowSubmit } from "../../runner/protocol/workflow-run.ts";
import { formatWorkflowSummary } from "../../runner/workflow/report.ts";
import { printJson, withClient } from "../client/run.ts";
import { followRun, type RunView } from "../client/workflow-follow.ts";

export function describeRun(run: RunView): string {
  const counts = new Map<string, number>();
  for (const n of run.nodes) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
  return `${run.id}  ${run.name}  ${run.status}  ${[...counts].map(([s, n]) => `${n} ${s}`).join(", ")}`;
}

function showRun(run: RunView): void {
  console.log(describeRun(run));
  for (const n of run.nodes) console.log(`  ${n.name.padEnd(24)} ${n.status.padEnd(10)} ${n.job_id ?? "-"}${n.reason ? `  ${n.reason}` : ""}`);
}

const submit = defineCommand({
  meta: { name: "submit", description: "Start a run of a workflow file on the coordinator; --follow shows it as `reactorcide-runner workflow run` does" },
  args: {
    file: { type: "positional", required: true, description: "The workflow file (YAML or JSON)" },
    project: { type: "string", required: true, description: "project id or name" },
    follow: { type: "boolean", alias: "f", description: "print each job's output prefixed [job] and the summary table; exit 0 only on success" },
    event: { type: "string", default: "push", description: `The event jobs see (${WORKFLOW_EVENTS.join(", ")})` },
    branch: { type: "string", description: "Branch the jobs see (default: the file's repository's current branch)" },
    sha: { type: "string", description: "Commit the jobs see (default: that repository's HEAD)" },
    "source-url": { type: "string", description: "git URL every job checks out into /job/src (at --sha)" },
    secrets: { type: "string", description: "comma-separated project secrets every job gets" },
    json: { type: "boolean", description: "print the run as JSON (with --follow: the report)" },
  },
  async run({ args }) {
    let text: string;
    try {
      text = await readFile(args.file, "utf8");
    } catch (error) {
      consola.error(`FILE: ${error instanceof Error ? error.message : error}`);
      process.exit(2);
    }
    if (!(WORKFLOW_EVENTS as readonly string[]).includes(args.event)) {
      consola.error(`--event: must be one of ${WORKFLOW_EVENTS.join(", ")}`);
      process.exit(2);
    }
    const info = await gitInfo(dirname(args.file)).catch(() => null);
    const branch = args.branch ?? info?.branch ?? undefined;
    const sha = args.sha ?? info?.commit;
    const body: WorkflowSubmit = { project: args.project, workflow: text, event: args.event as WorkflowEvent, name: basename(args.file) };
    if (branch) body.branch = branch;
    if (sha) body.sha = sha;
    if (args["source-url"]) body.source = { type: "git", url: args["source-url"], ...(sha ? { ref: sha } : {}) };
    if (args.secrets) body.secrets = args.secrets.split(",").map((s) => s.trim()).filter(Boolean);
    await withClient(async (client) => {
      let run: RunView;
      try {
        run = await client.submitWorkflow(body);
      } catch (error) {
        // A workflow the coordinator refuses is bad input, as for the local run.
        if ((error as { status?: number }).status === 400 || (error as { status?: number }).status === 422) {
          const e = error as Error & { field?: string };
          consola.error(e.field ? `${e.message} (field: ${e.field})` : e.message);
          process.exit(2);
        }
        throw error;
      }
      if (!args.follow) return args.json ? printJson(run) : consola.success(`started ${describeRun(run)}`);
      const out = args.json ? process.stderr : process.stdout;
      if (!args.json) consola.info(`workflow run ${run.id} (${run.name})`);
      const stop = () => {
        // Leaving stops following, not the run.
        consola.info(`stopped following; the run goes on: reactorcide workflow show ${run.id}`);
        process.exit(143);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const { report } = await followRun(client, run.id, (t) => out.write(t));
      if (args.json) console.log(JSON.stringify(report));
      else out.write(`\n${formatWorkflowSummary(report)}`);
      process.exit(report.success ? 0 : 1);
    });
  },
});

const show = defineCommand({
  meta: { name: "show", description: "One workflow run and its nodes" },
  args: { id: { type: "positional", required: true, description: "workflow run id" }, json: { type: "boolean", description: "print JSON" } },
  async run({ args }) {
    await withClient(async (client) => {
      const run = await client.getWorkflow(args.id);
      if (args.json) printJson(run);
      else showRun(run);
    });
  },
});

function action(name: "cancel" | "retry" | "retry-failed" | "approve" | "decline", description: string, done: string) {
  return defineCommand({
    meta: { name, description },
    args: { id: { type: "positional", required: true, description: "workflow run id" }, json: { type: "boolean", description: "print JSON" } },
    async run({ args }) {
      await withClient(async (client) => {
        const run = await client.workflowAction(args.id, name);
        if (args.json) printJson(run);
        else {
          consola.success(`${done} ${describeRun(run)}`);
          const fork = run.fork_pr;
          if (fork && (name === "approve" || name === "decline")) consola.info(`pull request #${fork.pr_number} at ${fork.head_sha.slice(0, 12)}: a new push needs a new approval`);
        }
      });
    },
  });
}

export default defineCommand({
  meta: { name: "workflow", description: "Workflow runs on the coordinator: submit, show, cancel, retry, retry-failed, approve, decline" },
  subCommands: {
    submit,
    show,
    cancel: action("cancel", "Cancel a run: waiting jobs cancelled, running ones stopped", "cancelled"),
    retry: action("retry", "A new run of the same workflow", "started"),
    "retry-failed": action("retry-failed", "Run failed, cancelled and timed-out jobs (and those after them) again in the same run", "retrying"),
    approve: action("approve", "Approve a run awaiting approval (a fork pull request's): it starts, with the runs of the same pull request head", "approved"),
    decline: action("decline", "Decline a run awaiting approval: it ends failure, declined", "declined"),
  },
});
