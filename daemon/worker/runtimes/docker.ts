import { containerEnvFileText, containerRunArgs, engineCreateRequest, type ContainerRunSpec, type EngineCreateRequest } from "../../../runner/container/command.ts";
import { IMAGE_DESCRIPTION, IMAGE_PATTERN, RUNNER_ENV } from "../../../runner/protocol/index.ts";
import { DockerEngine, EngineUnreachable, type ContainerEnd } from "./docker-engine.ts";
import { demuxDockerStream } from "./docker-stream.ts";
import { HostWorkspaces, JOB_ENV_PATH } from "./host-workspace.ts";
import { InfrastructureError, RefusedError, type Exit, type LeftInWorkspace, type RunningJob, type Runtime, type RunSpec } from "./runtime.ts";

const IMAGE_REF = new RegExp(IMAGE_PATTERN);

export type ContainerCli = "docker" | "nerdctl" | "podman";
export const CONTAINER_CLIS: readonly ContainerCli[] = ["docker", "nerdctl", "podman"];

export interface DockerRuntimeOptions {
  /** Where each job's workspace and env files live on this host. */
  workspaces: HostWorkspaces;
  cli?: ContainerCli;
  /** uid:gid the job runs as; never root. Default 1001:1001, the runner image's user. */
  user?: string;
  /** Size of the tmpfs /tmp when the root is read-only. */
  tmpfsSize?: string;
  /**
   * The engine API that runs the job's container (create, attach, start, wait) and the calls
   * around it (image check, exit state, remove, stop); default the local docker socket for the
   * docker CLI, none for nerdctl and podman (their CLI does all). The CLI runs the container when
   * the socket does not answer.
   */
  engine?: DockerEngine | null;
}

/** Container name for a job: stable, so a worker that takes over a job can remove a leftover. */
export function containerName(jobId: string): string {
  return `reactorcide-job-${jobId.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

/**
 * The job's container as the runner's own builder (runner/container/command.ts) defines it, kept
 * after exit so the worker can read OOMKilled before removing it.
 */
function jobContainer(spec: RunSpec, workspace: string, options: Omit<DockerRuntimeOptions, "workspaces">): Omit<ContainerRunSpec, "runtime" | "envFile"> {
  return {
    image: spec.image,
    argv: spec.argv,
    name: containerName(spec.jobId),
    labels: { "reactorcide.job": spec.jobId },
    workspace,
    workdir: "/job",
    user: options.user,
    cpu: spec.limits.cpus,
    memory: String(spec.limits.memoryBytes),
    pids: spec.limits.pids,
    keep: true,
    network: spec.network === "none" ? "none" : undefined,
    readOnlyRoot: spec.readOnlyRoot ? { tmpfsSize: options.tmpfsSize ?? "256m" } : undefined,
  };
}

/** The hardened `run` argv (the CLI's way; the runner's settings in `envFile`). */
export function hardenedRunArgv(cli: ContainerCli, spec: RunSpec, workspace: string, envFile: string, options: Omit<DockerRuntimeOptions, "workspaces"> = {}): string[] {
  return containerRunArgs({ ...jobContainer(spec, workspace, options), runtime: cli, envFile });
}

/** The same container as an Engine API create request (the socket's way; the runner's settings in its Env). */
export function hardenedCreateRequest(spec: RunSpec, workspace: string, runnerEnv: Record<string, string>, options: Omit<DockerRuntimeOptions, "workspaces"> = {}): EngineCreateRequest {
  return engineCreateRequest(jobContainer(spec, workspace, options), runnerEnv);
}

/** The runner's settings: names and sources, never a secret (docker inspect shows them), and where job.env is. */
function runnerEnvOf(spec: RunSpec): Record<string, string> {
  return { ...spec.env, [RUNNER_ENV.jobEnv]: JOB_ENV_PATH };
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } catch (error) {
    // ENOENT: the CLI is not installed at all.
    throw new InfrastructureError(`container runtime "${argv[0]}" cannot be started: ${error instanceof Error ? error.message : error}`);
  }
}

/** docker, nerdctl or podman through their common CLI. */
export class DockerRuntime implements Runtime {
  readonly name: string;
  private readonly cli: ContainerCli;
  private engine: DockerEngine | null;

  constructor(private readonly options: DockerRuntimeOptions) {
    this.cli = options.cli ?? "docker";
    this.name = this.cli;
    this.engine = options.engine !== undefined ? options.engine : this.cli === "docker" ? DockerEngine.local() : null;
  }

  /** `viaEngine` over the socket when there is one; the CLI when there is none or it stops answering. */
  private async either<T>(viaEngine: (engine: DockerEngine) => Promise<T>, viaCli: () => Promise<T>): Promise<T> {
    const engine = this.engine;
    if (engine) {
      try {
        return await viaEngine(engine);
      } catch (error) {
        if (!(error instanceof EngineUnreachable)) throw error;
      }
    }
    return viaCli();
  }

  private imageExists(image: string): Promise<boolean> {
    return this.either(
      (engine) => engine.imageExists(image),
      async () => (await run([this.cli, "image", "inspect", "--format", "{{.Id}}", image])).code === 0,
    );
  }

  /** How the (stopped) container ended; null when it cannot be inspected. */
  private containerEnd(name: string): Promise<ContainerEnd | null> {
    return this.either(
      (engine) => engine.containerEnd(name),
      async () => {
        const state = await run([this.cli, "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name]);
        if (state.code !== 0) return null;
        const [exitCode, oom] = state.stdout.trim().split(" ");
        return { code: Number(exitCode), oomKilled: oom === "true" };
      },
    );
  }

  private removeContainer(name: string): Promise<void> {
    return this.either(
      (engine) => engine.remove(name),
      async () => void (await run([this.cli, "rm", "--force", name])),
    );
  }

  async preflight(spec: RunSpec): Promise<void> {
    // Checked here too, not only by the API: an image like "--help" would be an option of `run`.
    if (!IMAGE_REF.test(spec.image)) throw new RefusedError(`image: ${JSON.stringify(spec.image)} is not ${IMAGE_DESCRIPTION}`);
    if (await this.imageExists(spec.image)) return;
    const daemon = await run([this.cli, "version", "--format", "{{.Server.Version}}"]);
    if (daemon.code !== 0) {
      throw new InfrastructureError(`container runtime ${this.cli} is not reachable: ${daemon.stderr.trim().split("\n").pop() ?? "no answer"}`);
    }
    throw new InfrastructureError(`image "${spec.image}" is not present on this worker (${this.cli} image inspect found nothing); build or load it first`);
  }

  async start(spec: RunSpec): Promise<RunningJob> {
    await this.remove(spec.jobId);
    const { workspaces } = this.options;
    const workspace = workspaces.dir(spec.jobId);
    // The runner's settings go in the container's Env (by --env-file for the CLI; docker inspect
    // shows them: no secrets there); the job's variables and secrets by job.env inside the
    // workspace, which the runner reads.
    let request: EngineCreateRequest;
    let argv: string[];
    let runnerEnvText: string;
    try {
      request = hardenedCreateRequest(spec, workspace, runnerEnvOf(spec), this.options);
      runnerEnvText = containerEnvFileText(runnerEnvOf(spec));
      argv = hardenedRunArgv(this.cli, spec, workspace, workspaces.runnerEnvFile(spec.jobId), this.options);
    } catch (error) {
      throw new RefusedError(error instanceof Error ? error.message : String(error));
    }
    try {
      await workspaces.create(spec.jobId, spec.jobEnv);
    } catch (error) {
      await workspaces.remove(spec.jobId);
      throw new InfrastructureError(`preparing the workspace: ${error instanceof Error ? error.message : error}`);
    }
    if (this.engine) {
      try {
        return await this.startViaEngine(this.engine, spec, request);
      } catch (error) {
        // Nothing was created when the socket did not answer: the CLI runs the same container.
        if (!(error instanceof EngineUnreachable)) {
          await this.remove(spec.jobId);
          throw error;
        }
      }
    }
    try {
      await workspaces.writeRunnerEnv(spec.jobId, runnerEnvText);
    } catch (error) {
      await workspaces.remove(spec.jobId);
      throw new InfrastructureError(`preparing the workspace: ${error instanceof Error ? error.message : error}`);
    }
    return this.startViaCli(spec, argv);
  }

  /**
   * What a finished job leaves, in two steps: `read` (its triggers and steps files, once its
   * process is gone) settles `exited`, so the end can be reported at once; `remove` then takes the
   * container and workspace away and settles `removed`. The container goes first, so a worker
   * killed in between still finds the workspace among its leftovers. `remove` runs once, however
   * often it is called.
   */
  private ending(spec: RunSpec): { read: () => LeftInWorkspace; remove: () => void; removed: Promise<void> } {
    const done = Promise.withResolvers<void>();
    let started = false;
    return {
      read: () => this.options.workspaces.readLeft(spec.jobId),
      remove: () => {
        if (started) return;
        started = true;
        done.resolve(
          (async () => {
            await this.removeContainer(containerName(spec.jobId));
            await this.options.workspaces.remove(spec.jobId);
          })().catch(() => {
            // Never rejects (the contract): a workspace that could not be removed keeps its owner
            // file (removed last), so the next start finds it among the leftovers.
          }),
        );
      },
      removed: done.promise,
    };
  }

  private stopper(name: string): (graceSeconds: number) => Promise<void> {
    const cli = this.cli;
    // `stop` sends SIGTERM, waits, then SIGKILL; the runner inside forwards TERM to its job.
    return (seconds) =>
      this.either(
        (engine) => engine.stop(name, seconds),
        async () => void (await run([cli, "stop", "--time", String(Math.max(0, Math.ceil(seconds))), name])),
      );
  }

  /**
   * create → attach → start over the socket, as `docker run` does without the CLI process (15-100
   * ms a job). Throws EngineUnreachable, having created nothing, when the socket does not answer.
   */
  private async startViaEngine(engine: DockerEngine, spec: RunSpec, request: EngineCreateRequest): Promise<RunningJob> {
    const name = request.name;
    let id: string;
    try {
      id = await engine.create(request);
    } catch (error) {
      if (error instanceof EngineUnreachable) throw error;
      throw new InfrastructureError(`${this.cli} could not create the job's container: ${error instanceof Error ? error.message : error}`);
    }
    let output: ReturnType<typeof demuxDockerStream>;
    try {
      // Attached before it starts, so not a byte of its output is missed.
      output = demuxDockerStream(await engine.attach(id));
      await engine.start(id);
    } catch (error) {
      throw new InfrastructureError(`${this.cli} could not start the job's container: ${error instanceof Error ? error.message : error}`);
    }
    const ending = this.ending(spec);
    const exited = (async (): Promise<Exit> => {
      try {
        let end: ContainerEnd | null;
        try {
          // Its output is all read when the attach stream ends; its exit is recorded when wait answers.
          await Promise.all([engine.wait(id), output.done.catch(() => {})]);
          end = await engine.containerEnd(id);
        } catch (error) {
          throw new InfrastructureError(`${this.cli} engine lost the job's container: ${error instanceof Error ? error.message : error}`);
        }
        if (!end) throw new InfrastructureError(`the job's container ${name} was removed before its exit could be read`);
        return { code: end.code, oomKilled: end.oomKilled, ...ending.read() };
      } finally {
        ending.remove();
      }
    })();
    const stop = this.stopper(name);
    const job = { stdout: output.stdout, stderr: output.stderr, exited, removed: ending.removed, stop: (grace: number) => stop(grace) };
    return job;
  }

  private startViaCli(spec: RunSpec, argv: string[]): RunningJob {
    const name = containerName(spec.jobId);
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const cli = this.cli;
    const ending = this.ending(spec);
    const exited = (async (): Promise<Exit> => {
      try {
        const code = await proc.exited;
        const end = await this.containerEnd(name);
        // The CLI's status is the container's, except 125-127 which are the CLI's own failures.
        if (!end && code >= 125 && code <= 127) throw new InfrastructureError(`${cli} run failed before the job started (exit ${code})`);
        return { code: end?.code ?? code, oomKilled: end?.oomKilled ?? false, ...ending.read() };
      } finally {
        ending.remove();
      }
    })();
    const stop = this.stopper(name);
    const job = { stdout: proc.stdout, stderr: proc.stderr, exited, removed: ending.removed, stop: (grace: number) => stop(grace) };
    return job;
  }

  async remove(jobId: string): Promise<void> {
    await this.removeContainer(containerName(jobId));
    await this.options.workspaces.remove(jobId);
  }

  leftovers(): Promise<string[]> {
    return this.options.workspaces.leftovers();
  }
}
