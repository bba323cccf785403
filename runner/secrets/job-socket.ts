/**
 * The registration socket as one job run sees it: opened in the workspace (so a container that
 * mounts the workspace at /job reaches it too), handed to the job's user, and named to the job
 * by REACTORCIDE_SECRETS_SOCKET with the path the job itself sees.
 */
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { CONTAINER_USER } from "../container/command.ts";
import { JOB_ROOT } from "../workspace/paths.ts";
import type { Masker } from "./masker.ts";
import { SECRETS_SOCKET_ENV, SOCKET_FILE_NAME } from "./socket-protocol.ts";
import { startSecretsSocket, type SecretsSocket } from "./socket-server.ts";

/** In the workspace, so a container job reaches it at /job. */
export const SOCKET_DIR_NAME = ".reactorcide-secrets";

export interface JobSocket extends AsyncDisposable {
  socket: SecretsSocket;
  /** The variable to add to the job's environment. */
  env: Record<string, string>;
}

/** Unix socket paths are limited to 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface JobSocketOptions {
  masker: Masker;
  /** Host directory of the workspace. */
  workspace: string;
  /** The workspace's path as the job sees it (`/job` in a container); default: the host path. */
  jobWorkspace?: string;
  /** The job's user when it is not the runner's (e.g. `1001:1001` in a container). */
  user?: string;
}

/** `1001:1001` or `1001` → ids; anything else (a name) → undefined. */
export function parseUser(user: string | undefined): { uid: number; gid: number } | undefined {
  const match = user?.match(/^(\d+)(?::(\d+))?$/);
  if (!match) return undefined;
  return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
}

/** Opens the socket; close it with `socket.close()` or `await using`. */
export async function openJobSocket(options: JobSocketOptions): Promise<JobSocket> {
  const owner = parseUser(options.user);
  let dir = join(options.workspace, SOCKET_DIR_NAME);
  let privateTemp: string | undefined;
  if (Buffer.byteLength(join(dir, SOCKET_FILE_NAME)) > MAX_SOCKET_PATH) {
    if (options.jobWorkspace) {
      throw new Error(`the workspace path ${options.workspace} is too long for the secrets socket (at most ${MAX_SOCKET_PATH - SOCKET_DIR_NAME.length - SOCKET_FILE_NAME.length - 2} bytes in container mode)`);
    }
    // In place the job sees host paths, so a private temporary directory does as well.
    privateTemp = mkdtempSync(join(tmpdir(), "reactorcide-secrets-"));
    dir = join(privateTemp, SOCKET_DIR_NAME);
  }
  const socket = await startSecretsSocket({ masker: options.masker, dir, ...(owner ? { owner } : {}) });
  const jobPath = options.jobWorkspace ? posix.join(options.jobWorkspace, SOCKET_DIR_NAME, SOCKET_FILE_NAME) : socket.path;
  return {
    socket,
    env: { [SECRETS_SOCKET_ENV]: jobPath },
    async [Symbol.asyncDispose]() {
      await socket.close();
      if (privateTemp) rmSync(privateTemp, { recursive: true, force: true });
      else {
        // Leave the workspace as the job left it: only our now-empty directory goes.
        try {
          rmdirSync(dir);
        } catch {
          // not empty (the job put something there) or already gone
        }
      }
    },
  };
}

/**
 * The socket for one run of the run layer: opened in the workspace, its variable added to the job
 * environment (so every step and container gets it). Null, after printing why, when it cannot be
 * opened; the run must then stop.
 */
export async function openRunSocket(
  r: { config: { workspace: string }; jobEnv: Record<string, string> },
  inContainer: boolean,
  output: { masker: Masker; log: { error(message: string): void } },
): Promise<JobSocket | null> {
  try {
    const opened = await openJobSocket({
      masker: output.masker,
      workspace: r.config.workspace,
      // As root the container runs as the image's runner user; otherwise as the caller, like the runner.
      ...(inContainer ? { jobWorkspace: JOB_ROOT, ...(process.getuid?.() === 0 ? { user: CONTAINER_USER } : {}) } : {}),
    });
    Object.assign(r.jobEnv, opened.env);
    return opened;
  } catch (error) {
    output.log.error(`secrets socket: ${(error as Error).message}`);
    return null;
  }
}
