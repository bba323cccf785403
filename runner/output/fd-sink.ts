/**
 * The runner's stdout and stderr as plain file descriptors, written with write(2).
 *
 * Why not process.stdout: its first use builds Node's stream machinery (tty, net, streams),
 * about a quarter of a trivial run's start-up in the compiled runner. A synchronous write also
 * keeps the runner's lines and the job's output in the order they were produced, and a slow
 * reader slows the job (its pipe fills) instead of the runner buffering without bound.
 */
import { fstatSync, writeSync, writevSync } from "node:fs";
import type { Sink } from "./output.ts";

/** EAGAIN: the descriptor was left non-blocking by whoever shares it; wait for room, then go on. */
const RETRY_MS = 1;

export class FdSink implements Sink {
  /** After EPIPE (the reader went away) output is dropped and the job runs to its end. */
  private closed = false;

  constructor(readonly fd: number) {}

  write(text: string | Uint8Array): void {
    this.writev([typeof text === "string" ? Buffer.from(text, "utf8") : text]);
  }

  /** All of `chunks`, in order, with as few writev(2) calls as the descriptor takes. */
  writev(chunks: Uint8Array[]): void {
    if (this.closed) return;
    let rest = chunks.filter((c) => c.length > 0);
    while (rest.length > 0) {
      let written: number;
      try {
        written = writevSync(this.fd, rest);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "EAGAIN") {
          Bun.sleepSync(RETRY_MS);
          continue;
        }
        if (code === "EPIPE") {
          this.closed = true;
          return;
        }
        throw error;
      }
      // A partial write (a pipe with less room than all of it): go on after the bytes it took.
      let i = 0;
      while (i < rest.length && written >= rest[i]!.length) written -= rest[i++]!.length;
      rest = rest.slice(i);
      if (written > 0) rest[0] = rest[0]!.subarray(written);
    }
  }

  /**
   * Whether a person is likely reading (colours and icons help): a character device other
   * than /dev/null, decided by fstat so node:tty need not load.
   */
  isTerminal(): boolean {
    try {
      const stat = fstatSync(this.fd);
      // /dev/null is character device 1:3 (rdev 0x103).
      return stat.isCharacterDevice() && stat.rdev !== 0x103;
    } catch {
      return false;
    }
  }
}
