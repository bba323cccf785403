/**
 * The hardened container command, as argv (never a shell string), for docker, nerdctl and podman.
 * Loosening options are absent on purpose: no --privileged, no mounts but the workspace at /job,
 * no -e KEY=VALUE (values stay off the command line, which `ps` shows to every user).
 */
import { FieldError } from "../errors/problem.ts";
import type { ContainerRuntime } from "../protocol/job-spec.ts";
import { ENV_NAME_PATTERN } from "../protocol/patterns.ts";

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
  memory: string;
  pids: number;
  labels?: Record<string, string>;
}

export function containerRunArgs(spec: ContainerRunSpec): string[] {
  const user = spec.user ?? CONTAINER_USER;
  if (/^(0|root)(:|$)/.test(user)) throw new FieldError("user", `"${user}" is root; jobs never run as root`);
  if (/[,\n\0]/.test(spec.workspace)) throw new FieldError("workspace", "a path with a comma or newline cannot be mounted", "use a plainer directory name");
  const argv = [
    spec.runtime, "run", ...(spec.keep ? [] : ["--rm"]),
    "--name", spec.name,
    "--init",
    "--user", user,
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
    "--pids-limit", String(spec.pids),
    "--memory", spec.memory,
    "--memory-swap", spec.memory,
    "--cpus", String(spec.cpu),
    "--mount", `type=bind,source=${spec.workspace},target=/job`,
    "--workdir", spec.workdir,
    "--env-file", spec.envFile,
  ];
  if (spec.network === "none") argv.push("--network", "none");
  if (spec.readOnlyRoot) argv.push("--read-only", "--tmpfs", `/tmp:rw,nosuid,nodev,size=${spec.readOnlyRoot.tmpfsSize}`);
  for (const [key, value] of Object.entries(spec.labels ?? {})) argv.push("--label", `${key}=${value}`);
  if (spec.argv?.length) argv.push(spec.image, ...spec.argv);
  else if (spec.command !== undefined) argv.push(spec.image, "/bin/sh", "-c", spec.command);
  else throw new FieldError("command", "a container needs a command or an argv");
  return argv;
}

/** Stops a container by name: SIGTERM (as `kill --signal`) or SIGKILL. */
export function containerKillArgs(runtime: ContainerRuntime, name: string, signal: "SIGTERM" | "SIGKILL"): string[] {
  return [runtime, "kill", "--signal", signal, name];
}

export function imageInspectArgs(runtime: ContainerRuntime, image: string): string[] {
  return [runtime, "image", "inspect", "--format", "{{.Id}}", image];
}

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);

/** `--env-file` text: one KEY=VALUE per line, taken literally, so values cannot hold newlines. */
export function containerEnvFileText(env: Record<string, string>): string {
  let text = "";
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_NAME.test(key)) throw new FieldError(`env.${key}`, "is not a valid variable name", "letters, digits and _, not starting with a digit");
    if (/[\r\n\0]/.test(value)) {
      throw new FieldError(`env.${key}`, "a value passed to a container cannot contain a newline or NUL (env files hold one line per variable)");
    }
    text += `${key}=${value}\n`;
  }
  return text;
}
