/**
 * Runs one job process in its own process group (Bun.spawn `detached` calls setsid), streams its
 * stdout and stderr apart, and owns its end: a timeout or a SIGTERM/SIGINT to the runner sends
 * SIGTERM to the whole group, then SIGKILL after the grace period. When the job's main process
 * exits, whatever it left running in its group is killed too, so nothing outlives the job.
 */
import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import type { JobStream } from "../output/output.ts";

export const EXIT_TIMEOUT = 124;

export type StopSignal = "SIGTERM" | "SIGKILL";

export interface ExecSpec {
  argv: string[];
  cwd: string;
  /** The job's whole environment: nothing of the runner's own is added. */
  env: Record<string, string>;
  stdout: JobStream;
  stderr: JobStream;
  /** Seconds; 0 for no limit. */
  timeoutSeconds: number;
  graceSeconds: number;
  /** Extra stop action, e.g. `docker kill` for a container the CLI process does not own. */
  stop?: (signal: StopSignal) => Promise<void> | void;
  /** Told when the runner starts stopping the job, for a message. */
  onStopping?: (why: { reason: "timeout" } | { reason: "signal"; signal: NodeJS.Signals }) => void;
}

export interface ExecResult {
  exitCode: number;
  reason: "exited" | "timeout" | "signal";
  signal?: NodeJS.Signals;
}

const FORWARDED: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
const PIPE_DRAIN_MS = 2000;

function signalGroup(pgid: number, signal: StopSignal): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Whether a live (non-zombie) process is still in the group; zombies wait for their reaper. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after "(comm)": state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

/** Waits (briefly) until no process of the group is left; SIGKILL is delivered asynchronously. */
async function groupGone(pgid: number, limitMs = 1000): Promise<void> {
  const until = Date.now() + limitMs;
  while (groupAlive(pgid) && Date.now() < until) await Bun.sleep(10);
}

async function pump(stream: ReadableStream<Uint8Array>, sink: JobStream): Promise<void> {
  for await (const chunk of stream) sink.write(chunk);
}

export async function execJob(spec: ExecSpec): Promise<ExecResult> {
  const proc = Bun.spawn(spec.argv, {
    cwd: spec.cwd,
    env: spec.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const pgid = proc.pid;
  let result: Omit<ExecResult, "exitCode"> | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;

  const stopJob = (signal: StopSignal) => {
    signalGroup(pgid, signal);
    void Promise.resolve(spec.stop?.(signal)).catch(() => {});
  };
  const beginStop = (why: Omit<ExecResult, "exitCode">) => {
    if (result) return;
    result = why;
    spec.onStopping?.(why.reason === "timeout" ? { reason: "timeout" } : { reason: "signal", signal: why.signal! });
    stopJob("SIGTERM");
    killTimer = setTimeout(() => stopJob("SIGKILL"), spec.graceSeconds * 1000);
  };

  const handlers = FORWARDED.map((signal) => {
    const handler = () => beginStop({ reason: "signal", signal });
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const timeoutTimer = spec.timeoutSeconds > 0 ? setTimeout(() => beginStop({ reason: "timeout" }), spec.timeoutSeconds * 1000) : undefined;

  const pumps = Promise.all([pump(proc.stdout, spec.stdout), pump(proc.stderr, spec.stderr)]);
  try {
    await proc.exited;
    signalGroup(pgid, "SIGKILL"); // leftovers (backgrounded grandchildren) go with the job
    await groupGone(pgid);
    // A process that left the group may still hold the pipes; do not wait for it forever.
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([pumps, new Promise((done) => (drainTimer = setTimeout(done, PIPE_DRAIN_MS)))]);
    clearTimeout(drainTimer); // a pending timer would keep the runner alive after the job
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    spec.stdout.end();
    spec.stderr.end();
  }

  if (result?.reason === "timeout") return { exitCode: EXIT_TIMEOUT, reason: "timeout" };
  if (result?.reason === "signal") return { exitCode: 128 + constants.signals[result.signal!], ...result };
  const killedBy = proc.signalCode;
  const code = proc.exitCode ?? 128 + (typeof killedBy === "number" ? killedBy : killedBy ? constants.signals[killedBy] : 0);
  return { exitCode: code, reason: "exited" };
}
