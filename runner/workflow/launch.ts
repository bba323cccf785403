import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JobSpec } from "../protocol/job-spec.ts";
import { parseTriggerLine, TRIGGER_LINE_PREFIX, type TriggerJob, type TriggerPayload } from "../protocol/trigger.ts";
import { forEachLine } from "../steps/local.ts";
import { readTriggersFile } from "../triggers/file.ts";
import type { WorkflowJob } from "./load.ts";
import type { LaunchJob } from "./schedule.ts";
import { childRunnerEnv, runnerCommand } from "./self.ts";

export interface LauncherOptions {
  /** Each job gets <workRoot>/<job>/ as its workspace and <workRoot>/<job>.job.json as its job file. */
  workRoot: string;
  /** Run in place (no container): images are ignored. */
  noContainer: boolean;
  /** Image for jobs that name none, in container mode. */
  defaultImage: string;
  /** Source for jobs whose definition has none (the repository under test). */
  source?: JobSpec["source"];
  /** Added to every job's env (the event: REACTORCIDE_EVENT_TYPE, _BRANCH, ...). */
  eventEnv: Record<string, string>;
  /** Extra flags for run-job (e.g. --runtime). */
  runJobArgs?: string[];
}

/** The job file a workflow job runs from: what run-job would get from a person. */
export function jobFileFor(job: WorkflowJob, options: LauncherOptions, workspace: string): JobSpec {
  const spec: JobSpec = { ...job.spec, env: { ...options.eventEnv, ...job.spec.env } };
  // In place, /job is not the workspace: job code finds it (for triggers.json) through this.
  if (options.noContainer) spec.env = { ...spec.env, REACTORCIDE_WORKSPACE: workspace };
  if (options.noContainer) delete spec.image;
  else spec.image ??= options.defaultImage;
  if (!spec.source && options.source) spec.source = options.source;
  if (spec.steps === undefined) delete spec.steps;
  return spec;
}

/**
 * Starts `reactorcide-runner run-job` for each job (the runner itself, from source or compiled),
 * streams its output line by line, and collects the follow-up jobs it asked for from its
 * triggers.json and its stdout trigger lines (the same request may arrive both ways).
 */
export function processLauncher(options: LauncherOptions): LaunchJob {
  return async (job, io) => {
    const workspace = join(options.workRoot, job.name);
    mkdirSync(workspace, { recursive: true });
    const jobFile = join(options.workRoot, `${job.name}.job.json`);
    writeFileSync(jobFile, `${JSON.stringify(jobFileFor(job, options, workspace), null, 2)}\n`);
    // A workflow job's env is plain text from the workflow file and the event, so none of it is
    // secret (masking it would hide for_each values and job names); what a run-time trigger passed
    // on may be (a value its parent registered), so those names are; values the job registers at
    // run time are masked as always.
    const secretNames = (job.secretEnvNames ?? []).join(",");
    const args = ["run-job", jobFile, "--workspace", workspace, "--secret-env-names", secretNames, ...(options.runJobArgs ?? [])];
    const proc = Bun.spawn([...runnerCommand(), ...args], {
      env: childRunnerEnv(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const stop = () => proc.kill("SIGTERM");
    io.signal.addEventListener("abort", stop, { once: true });
    const seen = new Set<string>();
    const triggers: TriggerJob[] = [];
    const fromLines: TriggerPayload[] = [];
    const collect = (operationId: string, jobs: TriggerJob[]) => {
      for (const trigger of jobs) {
        const key = `${operationId}\0${JSON.stringify(trigger)}`;
        if (!seen.has(key)) {
          seen.add(key);
          triggers.push(trigger);
        }
      }
    };
    const onStdout = (line: string) => {
      // Only at the start of a line (the step engine keeps them there): the runner's echo of a
      // command that prints a trigger line must not count as one.
      if (line.startsWith(TRIGGER_LINE_PREFIX)) {
        try {
          const payload = parseTriggerLine(line);
          if (payload) fromLines.push(payload);
        } catch (error) {
          io.onLine("stderr", `invalid trigger line: ${(error as Error).message}`);
        }
      }
      io.onLine("stdout", line);
    };
    await Promise.all([forEachLine(proc.stdout, onStdout), forEachLine(proc.stderr, (line) => io.onLine("stderr", line))]);
    const exitCode = await proc.exited;
    io.signal.removeEventListener("abort", stop);
    const file = readTriggersFile(workspace);
    // The file is the whole, unmasked record of its operation: a line of the same operation may
    // have had a secret in its env masked (*** as a value) and would run the job a second time.
    for (const payload of fromLines) if (payload.operation_id !== file?.operation_id) collect(payload.operation_id, payload.jobs);
    if (file) collect(file.operation_id, file.jobs);
    return { exitCode, triggers };
  };
}
