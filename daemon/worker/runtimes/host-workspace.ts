/**
 * The host side of a job for the runtimes that run it on this machine (docker, nerdctl, podman,
 * process). Everything of a job lives under one root, named by its id, so removing a job or
 * finding what a crashed worker left needs no other record:
 *   <root>/<jobId>/          the job's /job (0700, owned by the job's user when the worker is root)
 *   <root>/<jobId>/job.env   the job's variables and secrets (0600), read by the runner
 *   <root>/<jobId>.runner.env the runner's settings for `--env-file` (0600, the worker's only)
 *   <root>/<jobId>.owner     the pid of the worker process running it, so that workers sharing a
 *                            root never take each other's running jobs for leftovers
 */
import { chown, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatEnvFile, JOB_ENV_FILE, JOB_ROOT } from "../../../runner/protocol/index.ts";
import { readStepsReport } from "../../../runner/steps/summary.ts";
import { readTriggersFile } from "../../../runner/triggers/file.ts";
import { RefusedError, type FoundSteps, type FoundTriggers, type LeftInWorkspace } from "./runtime.ts";

export interface HostWorkspaceOptions {
  /** Directory of this worker's workspaces; nothing else should live there. */
  root: string;
  /** uid:gid that owns each workspace (the container user), when the worker runs as root. */
  owner: { uid: number; gid: number } | null;
  /** Keep each job's directory after it ends (debugging); its job.env is removed all the same. */
  keep: boolean;
}

/** Where the runner finds the job's variables inside the job (REACTORCIDE_JOB_ENV). */
export const JOB_ENV_PATH = `${JOB_ROOT}/${JOB_ENV_FILE}`;
const RUNNER_ENV_SUFFIX = ".runner.env";
const OWNER_SUFFIX = ".owner";
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * job.env text in the contract's env-file format (runner/protocol/env-file.ts): the runner reads it
 * back exactly, blanks, quotes and line breaks (a PEM key) included.
 */
export const jobEnvFileText = formatEnvFile;

export class HostWorkspaces {
  constructor(readonly options: HostWorkspaceOptions) {}

  /** The host directory that stands for /job. */
  dir(jobId: string): string {
    // A job id names a directory: one that could climb out of the root is never used.
    if (!JOB_ID.test(jobId)) throw new RefusedError(`job id ${JSON.stringify(jobId)} cannot name a workspace (letters, digits, . _ -)`);
    return join(this.options.root, jobId);
  }

  runnerEnvFile(jobId: string): string {
    return `${this.dir(jobId)}${RUNNER_ENV_SUFFIX}`;
  }

  /**
   * The job's triggers.json and the runner's steps.json (checked as the runner checks them: no
   * links, pipes or huge files), read before the workspace goes.
   */
  readLeft(jobId: string): LeftInWorkspace {
    const dir = this.dir(jobId);
    const problem = (error: unknown) => ({ error: error instanceof Error ? error.message.replace(this.options.root, "<workspaces>") : String(error) });
    let triggers: FoundTriggers;
    let steps: FoundSteps;
    try {
      triggers = { payload: readTriggersFile(dir) };
    } catch (error) {
      triggers = problem(error);
    }
    try {
      steps = { report: readStepsReport(dir) };
    } catch (error) {
      steps = problem(error);
    }
    return { triggers, steps };
  }

  /** A fresh, empty workspace holding job.env; whatever an earlier attempt left is removed first. */
  async create(jobId: string, jobEnv: Record<string, string>): Promise<string> {
    const dir = this.dir(jobId);
    await this.remove(jobId, { keep: false });
    await mkdir(this.options.root, { recursive: true, mode: 0o700 });
    await writeFile(`${dir}${OWNER_SUFFIX}`, String(process.pid), { mode: 0o600 });
    await mkdir(dir, { mode: 0o700 });
    const envFile = join(dir, JOB_ENV_FILE);
    await writeFile(envFile, jobEnvFileText(jobEnv), { mode: 0o600 });
    const owner = this.options.owner;
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(envFile, owner.uid, owner.gid);
    }
    return dir;
  }

  /** Writes the runner's settings file for `--env-file`; readable by the worker only. */
  async writeRunnerEnv(jobId: string, text: string): Promise<string> {
    const path = this.runnerEnvFile(jobId);
    await mkdir(this.options.root, { recursive: true, mode: 0o700 });
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }

  /** Removes the job's env files always, and its workspace unless it is kept. */
  async remove(jobId: string, { keep = this.options.keep } = {}): Promise<void> {
    const dir = this.dir(jobId);
    await rm(this.runnerEnvFile(jobId), { force: true });
    if (keep) await rm(join(dir, JOB_ENV_FILE), { force: true });
    else await rm(dir, { recursive: true, force: true });
    await rm(`${dir}${OWNER_SUFFIX}`, { force: true });
  }

  /**
   * Job ids with something under the root whose worker process is gone. Called at start, before
   * this process runs a job, so an owner pid equal to ours is an earlier life of this worker (pid 1
   * in a restarted container). A kept workspace without env files is not a leftover.
   */
  async leftovers(): Promise<string[]> {
    const names = await readdir(this.options.root).catch(() => [] as string[]);
    const ids = new Set<string>();
    for (const name of names) {
      const id = name.endsWith(RUNNER_ENV_SUFFIX) ? name.slice(0, -RUNNER_ENV_SUFFIX.length) : name.endsWith(OWNER_SUFFIX) ? name.slice(0, -OWNER_SUFFIX.length) : name;
      if (JOB_ID.test(id) && (names.includes(`${id}${OWNER_SUFFIX}`) || names.includes(`${id}${RUNNER_ENV_SUFFIX}`))) ids.add(id);
    }
    const left: string[] = [];
    for (const id of ids) {
      const pid = Number(await readFile(join(this.options.root, `${id}${OWNER_SUFFIX}`), "utf8").catch(() => "0"));
      if (pid === process.pid || !alive(pid)) left.push(id);
    }
    return left;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: a process of another user holds that pid, so it is alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
