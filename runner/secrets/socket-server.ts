import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import type { Socket } from "bun";
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

/** One connection's state: bytes of an unfinished request, the reply not yet written, its idle timer. */
interface Connection {
  pending: Buffer;
  unsent: Buffer;
  idle: ReturnType<typeof setTimeout> | null;
  /** The client half-closed: close once the replies are out. */
  ending: boolean;
}

function armIdle(socket: Socket<Connection>, ms: number): void {
  if (socket.data.idle) clearTimeout(socket.data.idle);
  socket.data.idle = setTimeout(() => socket.terminate(), ms);
  socket.data.idle.unref?.();
}

function send(socket: Socket<Connection>): void {
  const state = socket.data;
  if (state.unsent.length > 0) {
    const written = socket.write(state.unsent);
    state.unsent = state.unsent.subarray(Math.max(0, written));
  }
  if (state.unsent.length === 0 && state.ending) socket.end();
}

function receive(socket: Socket<Connection>, chunk: Buffer, options: SecretsSocketOptions): void {
  const state = socket.data;
  state.pending = state.pending.length === 0 ? chunk : Buffer.concat([state.pending, chunk]);
  // Several requests may come on one connection; answer each in turn.
  while (state.pending.length >= HEADER_BYTES) {
    const length = state.pending.readUInt32BE(0);
    if (length > MAX_REQUEST_BYTES) {
      socket.terminate();
      return;
    }
    if (state.pending.length < HEADER_BYTES + length) break;
    const body = state.pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
    state.pending = state.pending.subarray(HEADER_BYTES + length);
    const { reply, secrets } = handleRequest(body);
    if (secrets.length > 0) {
      options.masker.register(secrets);
      options.onRegister?.(secrets.length);
    }
    state.unsent = Buffer.concat([state.unsent, Buffer.from(reply)]);
  }
  send(socket);
}

/**
 * Listens on `<dir>/secrets.sock` for secret registrations while a job runs. Bun.listen rather
 * than node:net: loading node:net cost every run a few milliseconds of start-up.
 */
export async function startSecretsSocket(options: SecretsSocketOptions): Promise<SecretsSocket> {
  preparePrivateDir(options.dir);
  const path = join(options.dir, SOCKET_FILE_NAME);
  removeStale(path);
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const connections = new Set<Socket<Connection>>();
  const listener = Bun.listen<Connection>({
    unix: path,
    // The client half-closes after its request: it still gets the reply.
    allowHalfOpen: true,
    socket: {
      open(socket) {
        socket.data = { pending: Buffer.alloc(0), unsent: Buffer.alloc(0), idle: null, ending: false };
        connections.add(socket);
        armIdle(socket, idleMs);
      },
      data(socket, chunk) {
        armIdle(socket, idleMs);
        receive(socket, chunk, options);
      },
      drain: send,
      // A short header or truncated body at end of input: nothing to answer, just close.
      end(socket) {
        socket.data.ending = true;
        send(socket);
      },
      close(socket) {
        if (socket.data.idle) clearTimeout(socket.data.idle);
        connections.delete(socket);
      },
      error(socket) {
        socket.terminate();
      },
    },
  });
  chmodSync(path, 0o600);
  if (options.owner && (options.owner.uid !== process.getuid?.() || options.owner.gid !== process.getgid?.())) {
    grantAccess(options.dir, path, options.owner);
  }

  let closed: Promise<void> | null = null;
  return {
    path,
    close() {
      closed ??= (async () => {
        for (const socket of connections) socket.terminate();
        dropSwappedDir(options.dir);
        listener.stop(true);
        removeOwnSocket(options.dir, path);
      })();
      return closed;
    },
  };
}
