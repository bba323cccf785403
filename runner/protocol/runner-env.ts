/**
 * The REACTORCIDE_* variables a worker hands `reactorcide-runner run` inside a job (and that the
 * runner passes on to the job's own command, so the runner's tools work inside it). The runner's
 * settings table (runner/config/fields.ts) takes its variable names from here.
 */
export const RUNNER_ENV = {
  workspace: "REACTORCIDE_WORKSPACE",
  jobEnv: "REACTORCIDE_JOB_ENV",
  jobName: "REACTORCIDE_JOB_NAME",
  jobId: "REACTORCIDE_JOB_ID",
  jobCommand: "REACTORCIDE_JOB_COMMAND",
  secretEnvNames: "REACTORCIDE_SECRET_ENV_NAMES",
  sourceType: "REACTORCIDE_SOURCE_TYPE",
  sourceUrl: "REACTORCIDE_SOURCE_URL",
  sourceRef: "REACTORCIDE_SOURCE_REF",
  ciSourceType: "REACTORCIDE_CI_SOURCE_TYPE",
  ciSourceUrl: "REACTORCIDE_CI_SOURCE_URL",
  ciSourceRef: "REACTORCIDE_CI_SOURCE_REF",
  /** Set by the runner for the job: where it takes secrets registered at run time. */
  secretsSocket: "REACTORCIDE_SECRETS_SOCKET",
  /** With the job's token, where `trigger` POSTs follow-up jobs. */
  coordinatorUrl: "REACTORCIDE_COORDINATOR_URL",
  apiToken: "REACTORCIDE_API_TOKEN",
} as const;
export type RunnerEnvName = (typeof RUNNER_ENV)[keyof typeof RUNNER_ENV];

/** Where the worker writes the job's env file inside the workspace, as the job sees it. */
export const JOB_ROOT = "/job";
export const JOB_ENV_FILE = "job.env";
