import { homedir } from "node:os";
import { RUNNER_PATH } from "../config/fields.ts";

/**
 * The whole environment of a job run in place: a minimal PATH and HOME, then the job's own
 * variables (which may override both). Nothing of the runner's environment leaks through.
 */
export function inPlaceEnvironment(jobEnv: Record<string, string>): Record<string, string> {
  return { PATH: RUNNER_PATH, HOME: homedir(), ...jobEnv };
}
