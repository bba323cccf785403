import { existsSync } from "node:fs";
import { TRIGGER_CONDITIONS, triggerJobOf, triggerLine, type TriggerJob } from "../protocol/trigger.ts";
import { appendTriggers, removeTriggersFile, triggersFilePath } from "./file.ts";
import { coordinatorFromEnv, postTriggers, triggersEndpoint } from "./post.ts";

export interface TriggerOptions {
  /** The job workspace (/job in a container); default REACTORCIDE_WORKSPACE, else /job. */
  workspace?: string;
  /** Environment to read the coordinator settings from; default process.env. */
  env?: Record<string, string | undefined>;
  /** Allow http:// for the coordinator (the token travels in the request). */
  allowInsecureTransport?: boolean;
  /** Where the `::reactorcide::trigger::` line goes; default stdout. */
  writeLine?: (line: string) => void;
}

export interface TriggerResult {
  operationId: string;
  jobs: TriggerJob[];
  /** The triggers file, or null when a 201 from the coordinator removed it. */
  file: string | null;
  /** HTTP status of the POST, null when it failed to connect, undefined when not configured. */
  postStatus?: number | null;
  postError?: string;
}

/** The jobs as they go on the wire: defaults filled in so every consumer sees the same thing. */
function normalise(job: TriggerJob, index: number): TriggerJob {
  // A job file (name, command, ...) is accepted as well as a trigger job (job_name, job_command, ...).
  const checked = triggerJobOf(job, `jobs[${index}]`);
  return {
    ...checked,
    depends_on: checked.depends_on ?? [],
    condition: checked.condition ?? TRIGGER_CONDITIONS[0],
    env: checked.env ?? {},
  };
}

export function resolveWorkspace(options: TriggerOptions): string {
  const env = options.env ?? process.env;
  const workspace = options.workspace ?? env.REACTORCIDE_WORKSPACE ?? "/job";
  if (!existsSync(workspace)) {
    throw new Error(`workspace ${workspace} does not exist; set REACTORCIDE_WORKSPACE or pass --workspace`);
  }
  return workspace;
}

/**
 * Requests follow-up jobs: appended to <workspace>/triggers.json, printed as one stdout line,
 * and POSTed to the coordinator when REACTORCIDE_COORDINATOR_URL, _API_TOKEN and _JOB_ID are set
 * (a 201 removes the file, since the coordinator has them). Validation happens before anything
 * is written, so a bad job leaves no partial request behind.
 */
export async function triggerJobs(jobs: TriggerJob[], options: TriggerOptions = {}): Promise<TriggerResult> {
  if (jobs.length === 0) throw new Error("jobs: at least one job is required");
  const normalised = jobs.map(normalise);
  const env = options.env ?? process.env;
  const target = coordinatorFromEnv(env);
  // Check the transport before writing, so a refused URL is reported with nothing half-done.
  // The worker says so when it handed out an http address (loopback or the container bridge).
  const insecure = options.allowInsecureTransport ?? env.REACTORCIDE_ALLOW_INSECURE_TRANSPORT === "true";
  const endpoint = target ? triggersEndpoint(target, insecure) : null;
  const workspace = resolveWorkspace(options);

  const pending = await appendTriggers(workspace, normalised);
  const writeLine = options.writeLine ?? ((line: string) => process.stdout.write(`${line}\n`));
  writeLine(triggerLine({ type: "trigger_job", operation_id: pending.operation_id, jobs: normalised }));

  const result: TriggerResult = { operationId: pending.operation_id, jobs: normalised, file: triggersFilePath(workspace) };
  if (target && endpoint) {
    const posted = await postTriggers(endpoint, target.token, pending);
    result.postStatus = posted.status;
    if (posted.error) result.postError = posted.error;
    if (posted.status === 201 && (await removeTriggersFile(workspace, pending.operation_id, pending.jobs.length))) {
      result.file = null;
    }
  }
  return result;
}

/** One follow-up job by name: `triggerJob("deploy", { env: { TARGET: "staging" } })`. */
export function triggerJob(
  jobName: string,
  fields: Omit<TriggerJob, "job_name"> = {},
  options: TriggerOptions = {},
): Promise<TriggerResult> {
  return triggerJobs([{ ...fields, job_name: jobName }], options);
}
