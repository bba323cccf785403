/**
 * Everything the runner prints goes through here, and so through one Masker: the job's stdout
 * and stderr (kept apart, streamed as they come), the runner's own messages (consola), data for
 * scripts (--json) and error messages. Nothing else in the run layer writes to the terminal.
 */
import { createConsola, type ConsolaInstance } from "consola/core";
import { Masker, type MaskingStream } from "../secrets/masker.ts";
import { FdSink } from "./fd-sink.ts";
import { lineReporter } from "./reporter.ts";

export interface Sink {
  write(text: string | Uint8Array): unknown;
  /** Several chunks at once, in order (one system call where the sink can). */
  writev?(chunks: Uint8Array[]): unknown;
}

export interface JobStream {
  write(chunk: Uint8Array | string): void;
  end(): void;
}

export interface OutputOptions {
  masker?: Masker;
  stdout?: Sink;
  stderr?: Sink;
}

/**
 * A reader that goes away (`run ... | head`) must not crash the runner and orphan the job: after
 * EPIPE that stream is dropped and the job runs to its end.
 */
function tolerant(sink: Sink & { on?: (event: "error", listener: (error: Error) => void) => unknown }): Sink {
  let closed = false;
  const closes = (error: unknown) => (error as { code?: string }).code === "EPIPE";
  sink.on?.("error", (error) => {
    if (!closes(error)) throw error;
    closed = true;
  });
  return {
    write(text) {
      if (closed) return;
      try {
        sink.write(text);
      } catch (error) {
        if (!closes(error)) throw error;
        closed = true;
      }
    },
  };
}

export class Output {
  readonly masker: Masker;
  /** Human messages (consola), masked. */
  readonly log: ConsolaInstance;
  private readonly stdout: Sink;
  private readonly stderr: Sink;
  private readonly open = new Set<MaskingStream>();
  /** The sink whose last job output did not end a line, so the runner's next message starts a new one. */
  private midLine: Sink | null = null;

  constructor(options: OutputOptions = {}) {
    this.masker = options.masker ?? new Masker();
    // The process's own descriptors unless told otherwise (FdSink: see why there).
    this.stdout = options.stdout ? tolerant(options.stdout) : new FdSink(1);
    this.stderr = options.stderr ? tolerant(options.stderr) : new FdSink(2);
    const masked = (sink: Sink) => ({ write: (text: string) => this.writeMasked(sink, text) });
    const colours = !process.env.NO_COLOR && (Boolean(process.env.FORCE_COLOR) || (this.stdout instanceof FdSink && this.stdout.isTerminal()));
    this.log = createConsola({
      reporters: [lineReporter({ stdout: masked(this.stdout), stderr: masked(this.stderr) }, colours)],
      // Explicit: consola lowers its level when it thinks it runs under a test runner.
      level: 3,
    });
  }

  private writeMasked(sink: Sink, text: string): void {
    // Held-back job output goes first so the runner's line lands after what the job printed.
    for (const stream of this.open) stream.flush();
    if (this.midLine) {
      this.midLine.write("\n");
      this.midLine = null;
    }
    sink.write(this.masker.mask(text));
  }

  /** Data for scripts (JSON, tables), masked, on stdout. */
  data(text: string): void {
    this.writeMasked(this.stdout, text.endsWith("\n") ? text : `${text}\n`);
  }

  /** A live, masked stream for one of the job's output streams. */
  jobStream(which: "stdout" | "stderr"): JobStream {
    const sink = which === "stdout" ? this.stdout : this.stderr;
    const ended = (chunk: Uint8Array) => (this.midLine = chunk[chunk.length - 1] === 0x0a ? null : sink);
    const stream = this.masker.stream(
      (chunk) => {
        if (chunk.length === 0) return;
        sink.write(chunk);
        ended(chunk);
      },
      sink.writev &&
        ((chunks) => {
          sink.writev!(chunks);
          ended(chunks[chunks.length - 1]!);
        }),
    );
    this.open.add(stream);
    return {
      write: (chunk) => stream.write(chunk),
      end: () => {
        this.open.delete(stream);
        stream.end();
      },
    };
  }
}
