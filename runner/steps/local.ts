import type { CommandRequest, OutputStream } from "./engine.ts";

const GRACE_MS = 5_000;

/** Calls onLine for each complete line; a last line without a newline is delivered at the end. */
export async function forEachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, newline).replace(/\r$/, ""));
      buffered = buffered.slice(newline + 1);
    }
  }
  buffered += decoder.decode();
  if (buffered) onLine(buffered);
}

/**
 * Runs a step's command in place with `sh -c`, in its own process group (setsid through Bun's
 * `detached`), so stopping it on timeout or cancel also stops its children: SIGTERM to the
 * group, SIGKILL after a grace period.
 */
export async function runCommandInPlace(request: CommandRequest, graceMs = GRACE_MS): Promise<{ exitCode: number }> {
  const proc = Bun.spawn(["sh", "-c", request.command], {
    cwd: request.cwd,
    env: request.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    signalGroup("SIGTERM");
    killTimer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
  };
  if (request.signal.aborted) stop();
  else request.signal.addEventListener("abort", stop, { once: true });
  const pump = (stream: ReadableStream<Uint8Array>, name: OutputStream) =>
    forEachLine(stream, (line) => request.onLine(name, line));
  const pumps = Promise.all([pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr")]);
  try {
    const exitCode = await proc.exited;
    // Leave nothing behind: background children of a finished step go with it (they would
    // also hold the output pipes open).
    signalGroup("SIGKILL");
    await pumps;
    return { exitCode };
  } finally {
    request.signal.removeEventListener("abort", stop);
    if (killTimer) clearTimeout(killTimer);
  }
}
