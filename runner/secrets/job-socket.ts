/**
 * The registration socket as one job run sees it: opened in the workspace (so a container that
 * mounts the workspace at /job reaches it too), handed to the job's user, and named to the job
 * by REACTORCIDE_SECRETS_SOCKET with the path the job itself sees.
 */
import { join, posix } from "node:path";
import type { Masker } from "./masker.ts";
import { SECRETS_SOCKET_ENV, SOCKET_FILE_NAME } from "./socket-protocol.ts";
import { startSecretsSocket, type SecretsSocket } from "./socket-server.ts";

/** Beside the runner's own root-only `.reactorcide/` (which the job must not enter). */
export const SOCKET_DIR_NAME = ".reactorcide-secrets";

export interface JobSocket {
  socket: SecretsSocket;
  /** The variable to add to the job's environment. */
  env: Record<string, string>;
}

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

export async function openJobSocket(options: JobSocketOptions): Promise<JobSocket> {
  const owner = parseUser(options.user);
  const socket = await startSecretsSocket({
    masker: options.masker,
    dir: join(options.workspace, SOCKET_DIR_NAME),
    ...(owner ? { owner } : {}),
  });
  const jobPath = options.jobWorkspace ? posix.join(options.jobWorkspace, SOCKET_DIR_NAME, SOCKET_FILE_NAME) : socket.path;
  return { socket, env: { [SECRETS_SOCKET_ENV]: jobPath } };
}
