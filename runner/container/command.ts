/**
 * The hardened container, defined once as data (hardenedContainer) and rendered two ways: as a
 * `run` argv (never a shell string) for docker, nerdctl and podman, and as a Docker Engine API
 * create request for the worker, which starts containers over the engine's socket. Loosening
 * options are absent on purpose: no privileged, no mounts but the workspace at /job, no
 * -e KEY=VALUE (values stay off the command line, which `ps` shows to every user).
 */
import { FieldError } from "../errors/problem.ts";
import type { ContainerRuntime } from "../protocol/job-spec.ts";
import { ENV_NAME_PATTERN, MEMORY_PATTERN } from "../protocol/patterns.ts";

/** The runner image's "runner" user; the job never runs as root. */
export const CONTAINER_USER = "1001:1001";

export interface ContainerRunSpec {
  runtime: ContainerRuntime;
  image: string;
  /** Run as `/bin/sh -c command`. */
  command?: string;
  /** Or run this argv as it is (the worker runs `reactorcide-runner run`). */
  argv?: string[];
  /** Keep the container after it exits (no --rm), so its exit (e.g. OOMKilled) can be inspected; the caller removes it. */
  keep?: boolean;
  /** "none": no network at all. Default: the runtime's default bridge, never the host's. */
  network?: "none";
  /** Read-only root file system with a tmpfs /tmp of this size (e.g. "256m"). */
  readOnlyRoot?: { tmpfsSize: string };
  /** Container name, so it can be stopped and killed by name. */
  name: string;
  /** Host directory mounted at /job. */
  workspace: string;
  /** Working directory inside the container (under /job). */
  workdir: string;
  envFile: string;
  user?: string;
  cpu: number;
  /** Bytes, or a size like 512m (binary units, as Docker reads them). */
  memory: string;
  pids: number;
  labels?: Record<string, string>;
}

/** Everything a job's container is, whichever way it is started. Both renderings map every field. */
export interface HardenedContainer {
  name: string;
  image: string;
  cmd: string[];
  user: string;
  workdir: string;
  /** An init (tini) as PID 1: reaps the job's orphans, passes signals on. */
  init: true;
  capDrop: string[];
  securityOpt: string[];
  pidsLimit: number;
  /** As given (the CLI's form) and in bytes (the API's); swap is capped to the same, so the limit is real. */
  memory: string;
  memoryBytes: number;
  cpus: number;
  /** The only mount: the workspace, read-write, at /job. */
  bind: { source: string; target: "/job" };
  network: "none" | "default";
  readOnlyRoot: boolean;
  /** Mount point → options; the writable /tmp of a read-only root. */
  tmpfs: Record<string, string>;
  autoRemove: boolean;
  labels: Record<string, string>;
}

const SIZE = new RegExp(MEMORY_PATTERN);
const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** The container's policy: every hardening choice is made here and nowhere else. */
export function hardenedContainer(spec: Omit<ContainerRunSpec, "runtime" | "envFile">): HardenedContainer {
  const user = spec.user ?? CONTAINER_USER;
  if (/^(0|root)(:|$)/.test(user)) throw new FieldError("user", `"${user}" is root; jobs never run as root`);
  if (/[,\n\0]/.test(spec.workspace)) throw new FieldError("workspace", "a path with a comma or newline cannot be mounted", "use a plainer directory name");
  if (!SIZE.test(spec.memory)) throw new FieldError("memory", `"${spec.memory}" is not a size`, "bytes or a number with b, k, m or g (e.g. 512m)");
  const unit = /[a-z]$/i.test(spec.memory) ? spec.memory.slice(-1).toLowerCase() : "";
  let cmd: string[];
  if (spec.argv?.length) cmd = [...spec.argv];
  else if (spec.command !== undefined) cmd = ["/bin/sh", "-c", spec.command];
  else throw new FieldError("command", "a container needs a command or an argv");
  return {
    name: spec.name,
    image: spec.image,
    cmd,
    user,
    workdir: spec.workdir,
    init: true,
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges"],
    pidsLimit: spec.pids,
    memory: spec.memory,
    memoryBytes: Math.floor(Number(unit ? spec.memory.slice(0, -1) : spec.memory) * SIZE_UNITS[unit]!),
    cpus: spec.cpu,
    bind: { source: spec.workspace, target: "/job" },
    network: spec.network === "none" ? "none" : "default",
    readOnlyRoot: spec.readOnlyRoot !== undefined,
    tmpfs: spec.readOnlyRoot ? { "/tmp": `rw,nosuid,nodev,size=${spec.readOnlyRoot.tmpfsSize}` } : {},
    autoRemove: !spec.keep,
    labels: { ...spec.labels },
  };
}

/** The hardened container as a `run` command line; its variables come from `envFile`. */
export function containerRunArgs(spec: ContainerRunSpec): string[] {
  const c = hardenedContainer(spec);
  const argv = [
    spec.runtime, "run", ...(c.autoRemove ? ["--rm"] : []),
    "--name", c.name,
    ...(c.init ? ["--init"] : []),
    "--user", c.user,
    ...c.capDrop.flatMap((cap) => ["--cap-drop", cap]),
    ...c.securityOpt.flatMap((opt) => ["--security-opt", opt]),
    "--pids-limit", String(c.pidsLimit),
    "--memory", c.memory,
    "--memory-swap", c.memory,
    "--cpus", String(c.cpus),
    "--mount", `type=bind,source=${c.bind.source},target=${c.bind.target}`,
    "--workdir", c.workdir,
    "--env-file", spec.envFile,
  ];
  if (c.network !== "default") argv.push("--network", c.network);
  if (c.readOnlyRoot) argv.push("--read-only");
  for (const [target, options] of Object.entries(c.tmpfs)) argv.push("--tmpfs", `${target}:${options}`);
  for (const [key, value] of Object.entries(c.labels)) argv.push("--label", `${key}=${value}`);
  argv.push(c.image, ...c.cmd);
  return argv;
}

/** POST /containers/create?name=… of the Docker Engine API: the same container as containerRunArgs. */
export interface EngineCreateRequest {
  name: string;
  body: {
    Image: string;
    Cmd: string[];
    User: string;
    WorkingDir: string;
    Env: string[];
    Labels: Record<string, string>;
    AttachStdin: false;
    AttachStdout: true;
    AttachStderr: true;
    OpenStdin: false;
    Tty: false;
    HostConfig: {
      Init: boolean;
      CapDrop: string[];
      SecurityOpt: string[];
      PidsLimit: number;
      Memory: number;
      MemorySwap: number;
      NanoCpus: number;
      Mounts: { Type: "bind"; Source: string; Target: string }[];
      NetworkMode: string;
      ReadonlyRootfs: boolean;
      Tmpfs: Record<string, string>;
      AutoRemove: boolean;
      RestartPolicy: { Name: "no" };
      Privileged: false;
    };
  };
}

/** The hardened container as an Engine API create request, its variables in `env` (checked as for an env file). */
export function engineCreateRequest(spec: Omit<ContainerRunSpec, "runtime" | "envFile">, env: Record<string, string>): EngineCreateRequest {
  const c = hardenedContainer(spec);
  return {
    name: c.name,
    body: {
      Image: c.image,
      Cmd: c.cmd,
      User: c.user,
      WorkingDir: c.workdir,
      Env: containerEnvLines(env),
      Labels: c.labels,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      Tty: false,
      HostConfig: {
        Init: c.init,
        CapDrop: c.capDrop,
        SecurityOpt: c.securityOpt,
        PidsLimit: c.pidsLimit,
        Memory: c.memoryBytes,
        MemorySwap: c.memoryBytes,
        // The CLI's --cpus is the same number in billionths.
        NanoCpus: Math.round(c.cpus * 1e9),
        Mounts: [{ Type: "bind", Source: c.bind.source, Target: c.bind.target }],
        NetworkMode: c.network,
        ReadonlyRootfs: c.readOnlyRoot,
        Tmpfs: c.tmpfs,
        AutoRemove: c.autoRemove,
        // What the CLI sends: a job is never restarted.
        RestartPolicy: { Name: "no" },
        Privileged: false,
      },
    },
  };
}

/** Stops a container by name: SIGTERM (as `kill --signal`) or SIGKILL. */
export function containerKillArgs(runtime: ContainerRuntime, name: string, signal: "SIGTERM" | "SIGKILL"): string[] {
  return [runtime, "kill", "--signal", signal, name];
}

export function imageInspectArgs(runtime: ContainerRuntime, image: string): string[] {
  return [runtime, "image", "inspect", "--format", "{{.Id}}", image];
}

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);

/** KEY=VALUE per variable, refusing what an env file could not hold (the CLI path reads one back). */
function containerEnvLines(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => {
    if (!ENV_NAME.test(key)) throw new FieldError(`env.${key}`, "is not a valid variable name", "letters, digits and _, not starting with a digit");
    if (/[\r\n\0]/.test(value)) {
      throw new FieldError(`env.${key}`, "a value passed to a container cannot contain a newline or NUL (env files hold one line per variable)");
    }
    return `${key}=${value}`;
  });
}

/** `--env-file` text: one KEY=VALUE per line, taken literally, so values cannot hold newlines. */
export function containerEnvFileText(env: Record<string, string>): string {
  return containerEnvLines(env).map((line) => `${line}\n`).join("");
}
