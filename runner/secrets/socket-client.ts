import { createConnection } from "node:net";
import { encodeRequest, type OkReply, SECRETS_SOCKET_ENV } from "./socket-protocol.ts";

export interface RegisterOptions {
  /** Socket path; default `$REACTORCIDE_SECRETS_SOCKET`. */
  socketPath?: string;
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
}

/**
 * Asks the runner to mask `values` in all later output of the job. Resolves with how many the
 * runner registered; rejects with the runner's `ERROR:` reason or a connection problem. The
 * values never appear in the error messages.
 */
export function registerSecrets(values: readonly string[], options: RegisterOptions = {}): Promise<number> {
  const path = options.socketPath ?? process.env[SECRETS_SOCKET_ENV];
  if (!path) {
    return Promise.reject(new Error(`${SECRETS_SOCKET_ENV} is not set: secrets can be registered only from inside a running job`));
  }
  return new Promise<number>((resolve, reject) => {
    const socket = createConnection({ path });
    let reply = "";
    let settled = false;
    const finish = (error: Error | null, count = 0) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(count);
    };
    socket.setTimeout(options.timeoutMs ?? 10_000, () => finish(new Error(`no reply from the secrets socket ${path}`)));
    socket.on("error", (e: NodeJS.ErrnoException) => finish(new Error(`cannot reach the secrets socket ${path}: ${e.code ?? e.message}`)));
    socket.on("connect", () => socket.write(encodeRequest(values)));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("utf8");
      const newline = reply.indexOf("\n");
      if (newline < 0) return;
      const line = reply.slice(0, newline);
      if (line.startsWith("ERROR:")) return finish(new Error(`secrets socket: ${line.slice(6).trim()}`));
      try {
        const parsed = JSON.parse(line) as OkReply;
        if (parsed.status !== "ok" || typeof parsed.registered !== "number") throw new Error("unexpected reply");
        finish(null, parsed.registered);
      } catch {
        finish(new Error("secrets socket: unexpected reply"));
      }
    });
    socket.on("close", () => finish(new Error(`the secrets socket ${path} closed the connection without a reply`)));
  });
}

/** One value; see registerSecrets. */
export function registerSecret(value: string, options: RegisterOptions = {}): Promise<number> {
  return registerSecrets([value], options);
}
