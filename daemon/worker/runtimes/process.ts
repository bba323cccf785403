import { JOB_ENV_FILE, RUNNER_ENV } from "../../../runner/protocol/index.ts";
import { consola } from "consola";
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
    // The job sees only the env it was given (plus PATH/HOME to find tools), never the worker's;
    // its own variables and secrets come from job.env, which the runner reads.
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dirname(workspace),
      ...spec.env,
      [RUNNER_ENV.workspace]: workspace,
      [RUNNER_ENV.jobEnv]: join(workspace, JOB_ENV_FILE),
    };
    let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
    try {
      // Started beside the workspace, not in it: the runner refuses a workspace that holds its cwd.
      proc = Bun.spawn(argv, { cwd: dirname(workspace), env, stdout: "pipe", stderr: "pipe", stdin: "ignore", detached: true });
    } catch (error) {
      await workspaces.remove(spec.jobId);
      throw new InfrastructureError(`cannot start ${this.options.runnerPath}: ${error instanceof Error ? error.message : error}`);
    }
    let killTimer: Timer | undefined;
    const exited = proc.exited.then(async (code): Promise<Exit> => {
      clearTimeout(killTimer);
      const left = workspaces.readLeft(spec.jobId);
      await workspaces.remove(spec.jobId);
      const signal = proc.signalCode;
      return { code: signal ? 128 + (SIGNALS[signal] ?? 0) : code, oomKilled: false, ...left };
    });
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
      async stop(graceSeconds: number) {
        signalGroup("SIGTERM");
        killTimer ??= setTimeout(() => signalGroup("SIGKILL"), Math.max(0, graceSeconds) * 1000);
      },
    };
  }

  /** What a job leaves on the host here is its workspace (its runner is not tracked across a worker's crash). */
  async remove(jobId: string): Promise<void> {
    await this.options.workspaces.remove(jobId);
  }

  leftovers(): Promise<string[]> {
    return this.options.workspaces.leftovers();
  }
}
