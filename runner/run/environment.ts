import { homedir } from "node:os";
import { RUNNER_PATH } from "../config/fields.ts";
import { JOB_ROOT, RUNNER_ENV } from "../protocol/runner-env.ts";

/**
 * The whole environment of a job run in place: a minimal PATH and HOME, then the job's own
 * variables (which may override both). Nothing of the runner's environment leaks through.
 */
export function inPlaceEnvironment(jobEnv: Record<string, string>): Record<string, string> {
  return { PATH: RUNNER_PATH, HOME: homedir(), ...jobEnv };
}

/**
 * What the runner's own tools (`trigger`, `register-secret`, `git info`, ...) need inside the job,
 * in place as in a container: the workspace as the job sees it, the job's name, and its id when
 * the runner was given one (the worker sets REACTORCIDE_JOB_ID). The secrets socket is added
 * where it is opened (runner/secrets/job-socket.ts). The job's own values win.
 */
export function runnerToolEnv(
  config: { workspace: string; name: string },
  inContainer: boolean,
  runnerEnv: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {
    [RUNNER_ENV.workspace]: inContainer ? JOB_ROOT : config.workspace,
    [RUNNER_ENV.jobName]: config.name,
  };
  const id = runnerEnv[RUNNER_ENV.jobId];
  if (id) env[RUNNER_ENV.jobId] = id;
  return env;
}
