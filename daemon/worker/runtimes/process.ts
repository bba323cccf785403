import { JOB_ENV_FILE, RUNNER_ENV } from "../../../runner/protocol/index.ts";
import { consola } from "consola";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { HostWorkspaces } from "./host-workspace.ts";
import { InfrastructureError, RefusedError, type Exit, type RunningJob, type Runtime, type RunSpec } from "./runtime.ts";

export interface ProcessRuntimeOptions {
  /** Host executable that stands for `argv[0]` of the job (e.g. the compiled reactorcide-runner). */
  runnerPath: string;
  /** Where each job's workspace and job.env live. */
  workspaces: HostWorkspaces;
  /** Say the warning once per runtime (tests build many). */
  quiet?: boolean;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * What a job's runner holds on the host besides its workspace, recorded beside it (in the worker's
 * own root, not the job's) so a worker that starts after a crash can end it: the runner's process
 * group (pid, and its start time so a reused pid is never killed) and its TMPDIR (env files of its
 * containers, its secrets socket), which would otherwise stay in /tmp with the secrets in them.
 */
interface RunnerRecord {
  tmp: string;
  pid?: number;
  started?: string;
}
const RECORD_SUFFIX = ".process.json";

/** The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, ...). */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Start time of a process (field 22 of its stat, in clock ticks), undefined when there is none. */
const processStart = (pid: number) => statFields(pid)?.[19];

/** Every process below `root`, from the ppid links in /proc. */
function descendants(root: number): { pid: number; pgrp: number }[] {
  const children = new Map<number, { pid: number; pgrp: number }[]>();
  for (const name of readdirSync("/proc")) {
    const fields = /^\d+$/.test(name) ? statFields(name) : undefined;
    if (!fields) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), { pid: Number(name), pgrp: Number(fields[2]) }]);
  }
  const found: { pid: number; pgrp: number }[] = [];
  for (const todo = [root]; todo.length; ) {
    for (const child of children.get(todo.pop()!) ?? []) {
      found.push(child);
      todo.push(child.pid);
    }
  }
  return found;
}

const sendSignal = (target: number, name: NodeJS.Signals) => {
  try {
    process.kill(target, name);
  } catch {
    // Gone meanwhile.
  }
};

/**
 * Kills a runner and everything it started: the runner puts each job process in a session of its
 * own, which a signal to the runner's group does not reach, so the runner is stopped first (it
 * starts nothing more) and each process below it is killed with its group.
 */
function killRunnerTree(pid: number): void {
  sendSignal(-pid, "SIGSTOP");
  for (const child of descendants(pid)) {
    if (child.pgrp !== pid) sendSignal(-child.pgrp, "SIGKILL");
    sendSignal(child.pid, "SIGKILL");
  }
  sendSignal(-pid, "SIGKILL");
}

/**
 * Runs the runner straight on the host: no isolation at all, for development only. Jobs marked
 * untrusted are refused. The runner gets its own session so a stop reaches every process it made.
 */
export class ProcessRuntime implements Runtime {
  readonly name = "process";

  constructor(private readonly options: ProcessRuntimeOptions) {
    if (!options.quiet) {
      consola.warn(
        "runtime \"process\": jobs run directly on this host with the worker's privileges and NO isolation. " +
          "Use it for development only; jobs with untrusted source are refused.",
      );
    }
  }

  async preflight(spec: RunSpec): Promise<void> {
    if (spec.untrusted) {
      throw new RefusedError("runtime \"process\" refuses jobs that run untrusted source (no isolation); use a container runtime");
    }
    if (!(await Bun.file(this.options.runnerPath).exists())) {
      throw new InfrastructureError(`runner executable ${this.options.runnerPath} does not exist`);
    }
  }

  async start(spec: RunSpec): Promise<RunningJob> {
    await this.preflight(spec);
    const { workspaces } = this.options;
    const argv = [this.options.runnerPath, ...spec.argv.slice(1)];
    const workspace = await workspaces.create(spec.jobId, spec.jobEnv);
    const recordPath = this.recordPath(spec.jobId);
    // Short and outside the workspace: the runner's secrets socket must fit in 108 bytes.
    const record: RunnerRecord = { tmp: await mkdtemp(join(tmpdir(), "rc-job-")) };
    await writeFile(recordPath, JSON.stringify(record), { mode: 0o600 });
    // The job sees only the env it was given (plus PATH/HOME to find tools), never the worker's;
    // its own variables and secrets come from job.env, which the runner reads.
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dirname(workspace),
      TMPDIR: record.tmp,
      ...spec.env,
      [RUNNER_ENV.workspace]: workspace,
      [RUNNER_ENV.jobEnv]: join(workspace, JOB_ENV_FILE),
    };
    let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
    try {
      // Started beside the workspace, not in it: the runner refuses a workspace that holds its cwd.
      proc = Bun.spawn(argv, { cwd: dirname(workspace), env, stdout: "pipe", stderr: "pipe", stdin: "ignore", detached: true });
    } catch (error) {
      await this.remove(spec.jobId);
      throw new InfrastructureError(`cannot start ${this.options.runnerPath}: ${error instanceof Error ? error.message : error}`);
    }
    await writeFile(recordPath, JSON.stringify({ ...record, pid: proc.pid, started: processStart(proc.pid) }), { mode: 0o600 });
    let killTimer: Timer | undefined;
    const exited = proc.exited.then((code): Exit => {
      clearTimeout(killTimer);
      const signal = proc.signalCode;
      return { code: signal ? 128 + (SIGNALS[signal] ?? 0) : code, oomKilled: false, ...workspaces.readLeft(spec.jobId) };
    });
    // After the end is reported (the runner is gone; the job's own processes are in sessions of
    // their own, as before): its TMPDIR, the record, the workspace. remove() does the same after a crash.
    const removed = exited.then(
      () => this.clear(spec.jobId, record),
      () => this.clear(spec.jobId, record),
    ).catch((error: unknown) => consola.warn(`job ${spec.jobId}: removing what it left on the host: ${error instanceof Error ? error.message : error}`));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-proc.pid, signal);
      } catch {
        // Already gone.
      }
    };
    return {
      stdout: proc.stdout,
      stderr: proc.stderr,
      exited,
      removed,
      async stop(graceSeconds: number) {
        signalGroup("SIGTERM");
        killTimer ??= setTimeout(() => signalGroup("SIGKILL"), Math.max(0, graceSeconds) * 1000);
      },
    };
  }

  private recordPath(jobId: string): string {
    return `${this.options.workspaces.dir(jobId)}${RECORD_SUFFIX}`;
  }

  /**
   * What a job leaves on the host here: its runner, if a crashed worker's runner still runs (it has
   * its own process group, so it outlives the worker and would go on running the ended job with its
   * secrets), the runner's TMPDIR, and the workspace.
   */
  async remove(jobId: string): Promise<void> {
    const record = await readFile(this.recordPath(jobId), "utf8").then((text) => JSON.parse(text) as RunnerRecord, () => undefined);
    if (record?.pid && record.started && processStart(record.pid) === record.started) killRunnerTree(record.pid);
    await this.clear(jobId, record);
  }

  /** The runner's TMPDIR, its record and the workspace (the runner itself is gone). */
  private async clear(jobId: string, record: RunnerRecord | undefined): Promise<void> {
    if (record?.tmp) await rm(record.tmp, { recursive: true, force: true });
    await rm(this.recordPath(jobId), { force: true });
    await this.options.workspaces.remove(jobId);
  }

  leftovers(): Promise<string[]> {
    return this.options.workspaces.leftovers();
  }
}
