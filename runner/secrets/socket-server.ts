import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { Masker } from "./masker.ts";
import { HEADER_BYTES, handleRequest, MAX_REQUEST_BYTES, SOCKET_FILE_NAME } from "./socket-protocol.ts";

export interface SecretsSocketOptions {
  /** Registered values go here; masked from the moment the reply is sent. */
  masker: Masker;
  /** Private directory for the socket, created 0700 (e.g. `<workspace>/.reactorcide`). */
  dir: string;
  /**
   * The job's uid/gid when it differs from the runner's (a container user): the directory and
   * socket are handed to it so the job can connect and nobody else can.
   */
  owner?: { uid: number; gid: number };
  /** A connection that sends nothing for this long is dropped; default 30 s. */
  idleTimeoutMs?: number;
  /** Called after each successful registration with how many values it carried. */
  onRegister?: (count: number) => void;
}

export interface SecretsSocket {
  /** Absolute path of the socket on this machine. */
  readonly path: string;
  /** Stops listening, drops open connections, removes the socket file. */
  close(): Promise<void>;
}

/** Makes `dir` a private directory we own, refusing a symlink or non-directory planted there. */
function preparePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new Error(`secrets socket directory ${dir} is not a plain directory; refusing to use it`);
  }
  // Left by a killed container run, it may still belong to that job's user: take it back.
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) chownSync(dir, uid, process.getgid!());
  chmodSync(dir, 0o700);
}

/** Removes a stale socket left by an earlier run; anything else at that path is an error. */
function removeStale(path: string): void {
  let info;
  try {
    info = lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}

/**
 * A container job owns the workspace while it runs and may have put a symlink where the socket's
 * directory was; closing the server unlinks the socket by path, which would follow it. So before
 * closing, such a symlink is removed (the name is the runner's), and afterwards only a socket in
 * a real directory is unlinked. The job has ended by then: nothing swaps them in between.
 */
function dropSwappedDir(dir: string): void {
  try {
    if (lstatSync(dir).isSymbolicLink()) unlinkSync(dir);
  } catch {
    // gone
  }
}

function removeOwnSocket(dir: string, path: string): void {
  try {
    if (lstatSync(dir).isDirectory() && lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Hands directory and socket to the job's user; without root, opens them just enough to connect. */
function grantAccess(dir: string, path: string, owner: { uid: number; gid: number }): void {
  try {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(path, owner.uid, owner.gid);
  } catch {
    // Not root: the directory stays unlistable (0711) and the socket connectable. The worst a
    // stranger on the machine can do through it is add values to mask.
    chmodSync(dir, 0o711);
    chmodSync(path, 0o666);
  }
}

function serve(socket: Socket, options: SecretsSocketOptions): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.setTimeout(options.idleTimeoutMs ?? 30_000, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    // Several requests may come on one connection; answer each in turn.
    while (pending.length >= HEADER_BYTES) {
      const length = pending.readUInt32BE(0);
      if (length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      if (pending.length < HEADER_BYTES + length) return;
      const body = pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
      pending = pending.subarray(HEADER_BYTES + length);
      const { reply, secrets } = handleRequest(body);
      if (secrets.length > 0) {
        options.masker.register(secrets);
        options.onRegister?.(secrets.length);
      }
      socket.write(reply);
    }
  });
  // A short header or truncated body at end of input: nothing to answer, just close.
  socket.on("end", () => socket.end());
}

/** Listens on `<dir>/secrets.sock` for secret registrations while a job runs. */
export async function startSecretsSocket(options: SecretsSocketOptions): Promise<SecretsSocket> {
  preparePrivateDir(options.dir);
  const path = join(options.dir, SOCKET_FILE_NAME);
  removeStale(path);
  const connections = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    serve(socket, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  if (options.owner && (options.owner.uid !== process.getuid?.() || options.owner.gid !== process.getgid?.())) {
    grantAccess(options.dir, path, options.owner);
  }

  let closed: Promise<void> | null = null;
  return {
    path,
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        dropSwappedDir(options.dir);
        server.close(() => resolve());
      }).finally(() => removeOwnSocket(options.dir, path));
      return closed;
    },
  };
}
