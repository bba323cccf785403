/**
 * Turns a job's stdout and stderr into masked lines and ships them to the coordinator in batches:
 * at most `maxLines` or `maxBytes` per batch, and at least every `intervalMs` while output flows.
 * Up to `maxInFlight` batches travel at once (one request's round trip and the coordinator's
 * statement overlap the next one's encoding and parsing). Each carries its offset (lines before
 * it), so the coordinator stores batches in order and a batch sent again only once: a failed send
 * is retried with backoff, one that arrived before its predecessor (409) is sent again once that
 * one is stored, and nothing is dropped silently (after `maxAttempts` the error is kept and reported).
 */

import { storableLine } from "../../../runner/protocol/log-line.ts";

export type LogStream = "stdout" | "stderr" | "system";

export interface LogLine {
  /** 1-based, in the order the worker saw the lines. */
  seq: number;
  stream: LogStream;
  line: string;
  /** Unix milliseconds when the worker read it. */
  time: number;
}

/** What the shipper needs of a masker (runner/secrets/masker.ts's Masker fits). */
export interface LineMasker {
  /** Masks a whole text (the worker's own lines). */
  mask(text: string): string;
  /** A chunk-safe masking stream over raw output; `end` releases what it holds back. */
  stream(sink: (chunk: Uint8Array) => void): { write(chunk: Uint8Array): void; end(): void };
}

export interface ShipperOptions {
  /** Ships one batch; `offset` is how many lines went before it, so a batch sent twice is stored once. */
  send: (batch: LogLine[], offset: number) => Promise<void>;
  masker: LineMasker;
  maxLines?: number;
  maxBytes?: number;
  intervalMs?: number;
  /** Longest line kept whole; longer output without a newline is cut (after masking). */
  maxLineBytes?: number;
  maxAttempts?: number;
  /** Batches sent at once, each waiting only for its predecessor to be stored. */
  maxInFlight?: number;
  /** Job output kept in all; past it one system line says so and the rest is read and dropped. */
  maxTotalBytes?: number;
}

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Bytes a line takes in the JSON batch (escapes and UTF-8 included), so a batch stays under the coordinator's body limit. */
function wireBytes(line: string): number {
  return 24 + (PLAIN_ASCII.test(line) ? line.length + 2 : Buffer.byteLength(JSON.stringify(line)));
}

/** A 4xx other than 408/429: the coordinator refused the batch, and sending it again cannot help. */
function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

function refusedForGood(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export class LogShipper {
  private pending: LogLine[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private timer: Timer | undefined;
  /** Batches handed over and not yet stored (or failed for good), oldest first. */
  private flights: Promise<void>[] = [];
  /** Settles when the newest batch is stored or has failed for good (the next one waits on it after a 409). */
  private last: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** Bytes of batches not yet delivered; pump waits while this is high. */
  private inFlightBytes = 0;
  private outputBytes = 0;
  private truncated = false;
  /** The last lines shipped, masked, for the caller's own use (e.g. the last lines in an error). */
  private readonly recent: string[] = [];
  private readonly o: Required<Omit<ShipperOptions, "send" | "masker">>;

  constructor(private readonly options: ShipperOptions) {
    this.o = {
      // Few, large batches: each costs a round trip and a statement, whatever its size.
      maxLines: options.maxLines ?? 50_000,
      maxBytes: options.maxBytes ?? 2 * 2 ** 20,
      intervalMs: options.intervalMs ?? 200,
      maxLineBytes: options.maxLineBytes ?? 64 * 1024,
      maxAttempts: options.maxAttempts ?? 8,
      maxInFlight: options.maxInFlight ?? 2,
      maxTotalBytes: options.maxTotalBytes ?? 100 * 2 ** 20,
    };
  }

  get tail(): string[] {
    return this.recent.slice(-50);
  }

  /** Lines shipped so far (or queued). */
  get count(): number {
    return this.seq;
  }

  /** Adds one line of the worker's own (e.g. "timed out after 30 s"), masked like the rest. */
  system(text: string): void {
    for (const line of text.split("\n")) this.push("system", line);
  }

  /**
   * Reads `stream` to its end through the masker's streaming matcher, which sees the bytes as one
   * run (line breaks included) and releases only what no secret can still cover: masking is safe
   * across chunk boundaries and line breaks (line-wrapped base64). What it releases is final, so
   * lines, and lines too long to keep whole, are cut from it freely. Resolves when all is queued.
   */
  async pump(name: LogStream, stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    const take = (bytes: Uint8Array) => {
      buffer += decoder.decode(bytes, { stream: true });
      const cut = buffer.lastIndexOf("\n");
      if (cut >= 0) {
        this.pushLines(name, buffer.slice(0, cut));
        buffer = buffer.slice(cut + 1);
      }
      while (buffer.length > this.o.maxLineBytes) {
        this.enqueue(name, buffer.slice(0, this.o.maxLineBytes));
        buffer = buffer.slice(this.o.maxLineBytes);
      }
    };
    const masking = this.options.masker.stream(take);
    try {
      for await (const chunk of stream) {
        masking.write(chunk);
        // Backpressure: a job printing faster than the coordinator takes lines waits (its pipe
        // fills) instead of the worker holding an ever longer queue of batches in memory.
        while (this.inFlightBytes > this.o.maxBytes * (this.o.maxInFlight + 1) && !this.failure && this.flights[0]) await this.flights[0];
      }
    } finally {
      masking.end();
    }
    buffer += decoder.decode();
    if (buffer) this.pushLines(name, buffer);
  }

  /** Masked text of whole lines, queued line by line (a line longer than maxLineBytes in pieces). */
  private pushLines(stream: LogStream, masked: string): void {
    for (let line of masked.split("\n")) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length <= this.o.maxLineBytes) this.enqueue(stream, line);
      else for (let i = 0; i < line.length; i += this.o.maxLineBytes) this.enqueue(stream, line.slice(i, i + this.o.maxLineBytes));
    }
  }

  private push(stream: LogStream, raw: string): void {
    this.pushLines(stream, this.options.masker.mask(raw));
  }

  private enqueue(stream: LogStream, line: string): void {
    if (stream !== "system") {
      if (this.truncated) return;
      this.outputBytes += line.length;
      if (this.outputBytes > this.o.maxTotalBytes) {
        this.truncated = true;
        const cap = this.o.maxTotalBytes;
        line = `log truncated: the job printed more than ${cap >= 2 ** 20 ? `${Math.round(cap / 2 ** 20)} MiB` : `${cap} bytes`}; the rest of its output is not kept`;
        stream = "system";
      }
    }
    line = storableLine(line);
    const entry: LogLine = { seq: ++this.seq, stream, line, time: Date.now() };
    this.pending.push(entry);
    this.pendingBytes += wireBytes(line);
    this.recent.push(line);
    if (this.recent.length > 100) this.recent.splice(0, 50);
    if (this.pending.length >= this.o.maxLines || this.pendingBytes >= this.o.maxBytes) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushNow(), this.o.intervalMs);
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlightBytes += bytes;
    const before = this.last;
    // A slot: the batch `maxInFlight` places ahead is done (its successors may still travel).
    const slot = this.flights.length >= this.o.maxInFlight ? this.flights[this.flights.length - this.o.maxInFlight]! : Promise.resolve();
    const flight: Promise<void> = slot
      .then(() => this.sendWithRetry(batch, before))
      .finally(() => {
        this.inFlightBytes -= bytes;
        this.flights.splice(this.flights.indexOf(flight), 1);
      });
    this.flights.push(flight);
    this.last = flight;
  }

  /** Sends `batch` until it is stored; `before` settles when the batch ahead of it is stored (or failed). */
  private async sendWithRetry(batch: LogLine[], before: Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.failure) return;
      try {
        await this.options.send(batch, batch[0]!.seq - 1);
        return;
      } catch (error) {
        // Ahead of its predecessor (the coordinator would have had a gap): again once that one is in.
        if (statusOf(error) === 409 && attempt < this.o.maxAttempts) {
          await before;
          continue;
        }
        if (attempt >= this.o.maxAttempts || refusedForGood(error)) {
          this.failure ??= error;
          return;
        }
        await Bun.sleep(Math.min(5000, 50 * 2 ** attempt));
      }
    }
  }

  /** Ships everything queued; rejects if some lines could not be delivered. */
  async close(): Promise<void> {
    this.flushNow();
    while (this.flights.length) await Promise.all([...this.flights]);
    if (this.failure) {
      throw new Error(`log lines could not be shipped: ${this.failure instanceof Error ? this.failure.message : String(this.failure)}`);
    }
  }
}
