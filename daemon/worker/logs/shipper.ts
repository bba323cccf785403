/**
 * Turns a job's stdout and stderr into masked lines and ships them to the coordinator in chunks of
 * their stored form (runner/protocol/log-chunk.ts), zstd-packed: at most `maxLines` or `maxBytes`
 * per chunk, and at least every `intervalMs` while output flows. The bytes the masker releases are
 * framed as they are (a stream byte before each line), with no string or object per line; the
 * coordinator checks a chunk and stores it as it came. Up to `maxInFlight` chunks travel at once
 * (one request's round trip and the coordinator's statement overlap the next one's framing). Each
 * carries its offset (lines before it), so the coordinator stores chunks in order and a chunk sent
 * again only once: a failed send is retried with backoff, one that arrived before its predecessor
 * (409) is sent again once that one is stored, and nothing is dropped silently (after
 * `maxAttempts` the error is kept and reported).
 */

import { LOG_CHUNK_MAX_BYTES, LOG_CHUNK_MAX_LINES, LOG_LINE_MAX_BYTES, STREAM_BYTE } from "../../../runner/protocol/log-chunk.ts";
import { NUL_SHOWN_AS, type LogStreamName } from "../../../runner/protocol/log-line.ts";
import { isUtf8 } from "node:buffer";
import { PACK_LEVEL } from "../../storage/log-chunk-codec.ts";

/** One chunk as it goes to the coordinator. */
export interface ShippedChunk {
  /** Lines shipped before it, so a chunk sent twice is stored once. */
  offset: number;
  lines: number;
  /** Its stored-form lines, zstd-packed. */
  packed: Uint8Array;
}

/** What the shipper needs of a masker (runner/secrets/masker.ts's Masker fits). */
export interface LineMasker {
  /** Masks a whole text (the worker's own lines). */
  mask(text: string): string;
  /** A chunk-safe masking stream over raw output; `end` releases what it holds back. */
  stream(sink: (chunk: Uint8Array) => void): { write(chunk: Uint8Array): void; end(): void };
}

export interface ShipperOptions {
  send: (chunk: ShippedChunk) => Promise<void>;
  masker: LineMasker;
  maxLines?: number;
  maxBytes?: number;
  intervalMs?: number;
  /** Longest line kept whole, in bytes; longer output without a newline is cut (after masking). */
  maxLineBytes?: number;
  maxAttempts?: number;
  /** Chunks sent at once, each waiting only for its predecessor to be stored. */
  maxInFlight?: number;
  /** Job output kept in all; past it one system line says so and the rest is read and dropped. */
  maxTotalBytes?: number;
}

/** A 4xx other than 408/429: the coordinator refused the chunk, and sending it again cannot help. */
function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}

function refusedForGood(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

const NEWLINE = Buffer.from("\n");
const EMPTY = Buffer.alloc(0);

const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** Whole lines of `text` as UTF-8 with nothing a stored line cannot hold: bytes that are not UTF-8 and NUL become U+FFFD. */
function visible(text: Buffer): Buffer {
  if (text.indexOf(0) < 0 && isUtf8(text)) return text;
  return Buffer.from(new TextDecoder().decode(text).replaceAll("\0", NUL_SHOWN_AS), "utf8");
}

/** Where to cut `text` at most `max` bytes after `start` without splitting a UTF-8 character. */
function cutAt(text: Uint8Array, start: number, max: number): number {
  let cut = start + max;
  for (let back = 0; back < 3 && cut > start + 1 && (text[cut]! & 0xc0) === 0x80; back++) cut--;
  return cut;
}

export class LogShipper {
  /** The next chunk's stored-form bytes (the first `pendingBytes`), framed and not yet handed to a flight. */
  private pending: Buffer = EMPTY;
  private pendingLines = 0;
  private pendingBytes = 0;
  /** Whether the last chunk went for being full (output flows fast) rather than on the timer. */
  private lastFlushFull = false;
  /** Lines framed so far: the next chunk's offset once `pending` is counted in. */
  private framed = 0;
  private timer: Timer | undefined;
  /** Chunks handed over and not yet stored (or failed for good), oldest first. */
  private flights: Promise<void>[] = [];
  /** Settles when the newest chunk is stored or has failed for good (the next one waits on it after a 409). */
  private last: Promise<void> = Promise.resolve();
  /** Settles when the newest chunk's first send has begun: chunks go out in offset order, so a chunk
   * packed sooner than its predecessor does not arrive first and cost a 409 and a second send. */
  private lastStarted: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** Bytes of chunks not yet delivered; pump waits while this is high. */
  private inFlightBytes = 0;
  private outputBytes = 0;
  private truncated = false;
  private readonly o: Required<Omit<ShipperOptions, "send" | "masker">>;

  constructor(private readonly options: ShipperOptions) {
    this.o = {
      // Few, large chunks: each costs a round trip and a statement, whatever its size.
      // Within what the coordinator takes (a chunk ends at the line that reaches maxBytes).
      maxLines: Math.min(options.maxLines ?? 50_000, LOG_CHUNK_MAX_LINES),
      maxBytes: Math.min(options.maxBytes ?? 2 * 2 ** 20, LOG_CHUNK_MAX_BYTES - LOG_LINE_MAX_BYTES - 2),
      intervalMs: options.intervalMs ?? 200,
      maxLineBytes: Math.min(options.maxLineBytes ?? LOG_LINE_MAX_BYTES, LOG_LINE_MAX_BYTES),
      maxAttempts: options.maxAttempts ?? 8,
      maxInFlight: options.maxInFlight ?? 2,
      maxTotalBytes: options.maxTotalBytes ?? 100 * 2 ** 20,
    };
  }

  /** Adds lines of the worker's own (e.g. "timed out after 30 s"), masked like the rest. */
  system(text: string): void {
    const masked = this.options.masker.mask(text);
    this.frame("system", Buffer.from(masked + "\n", "utf8"));
  }

  /**
   * Reads `stream` to its end through the masker's streaming matcher, which sees the bytes as one
   * run (line breaks included) and releases only what no secret can still cover: masking is safe
   * across chunk boundaries and line breaks (line-wrapped base64). What it releases is final, so
   * lines, and lines too long to keep whole, are cut from it freely. `observe` sees each chunk as
   * read, before masking (the worker's trigger-line scan). Resolves when all is framed.
   */
  async pump(name: LogStreamName, stream: ReadableStream<Uint8Array>, observe?: (chunk: Uint8Array) => void): Promise<void> {
    // The start of a line the masker released without its newline yet.
    let held: Buffer[] = [];
    let heldBytes = 0;
    const take = (released: Uint8Array) => {
      const bytes = asBuffer(released);
      const newline = bytes.lastIndexOf(0x0a);
      if (newline >= 0) {
        let from = 0;
        if (heldBytes) {
          // The held start and its end make one line; the lines after it are framed where they lie.
          from = bytes.indexOf(0x0a) + 1;
          this.frame(name, Buffer.concat([...held, bytes.subarray(0, from)]));
          held = [];
          heldBytes = 0;
        }
        if (from <= newline) this.frame(name, bytes.subarray(from, newline + 1));
      }
      const rest = bytes.subarray(newline + 1);
      if (rest.length === 0) return;
      // Copied: the masker may reuse what it released.
      held.push(Buffer.from(rest));
      heldBytes += rest.length;
      if (heldBytes <= this.o.maxLineBytes) return;
      // A line longer than a stored line may be: whole pieces go now, the rest waits for more.
      const line = Buffer.concat(held);
      let start = 0;
      while (line.length - start > this.o.maxLineBytes) {
        const cut = cutAt(line, start, this.o.maxLineBytes);
        this.frame(name, Buffer.concat([line.subarray(start, cut), NEWLINE]));
        start = cut;
      }
      held = [line.subarray(start)];
      heldBytes = line.length - start;
    };
    const masking = this.options.masker.stream(take);
    try {
      for await (const chunk of stream) {
        observe?.(chunk);
        masking.write(chunk);
        // Backpressure: a job printing faster than the coordinator takes lines waits (its pipe
        // fills) instead of the worker holding an ever longer queue of chunks in memory.
        while (this.inFlightBytes > this.o.maxBytes * (this.o.maxInFlight + 1) && !this.failure && this.flights[0]) await this.flights[0];
      }
    } finally {
      masking.end();
    }
    if (heldBytes) this.frame(name, Buffer.concat([...held, NEWLINE]));
  }

  /**
   * Frames whole lines (`text` ends with "\n") into the pending chunk: per line its stream byte,
   * its text without a trailing CR, a newline; a line longer than maxLineBytes in pieces. Job
   * output past maxTotalBytes is replaced by one system line saying so.
   */
  private frame(stream: LogStreamName, raw: Buffer): void {
    if (stream !== "system" && this.truncated) return;
    const text = visible(raw);
    const code = STREAM_BYTE[stream];
    const line = (start: number, end: number) => {
      if (this.pending.length - this.pendingBytes < end - start + 2) this.grow(end - start + 2);
      const out = this.pending;
      let p = this.pendingBytes;
      out[p++] = code;
      p += text.copy(out, p, start, end);
      out[p++] = 0x0a;
      this.pendingBytes = p;
      if (++this.pendingLines >= this.o.maxLines || p >= this.o.maxBytes) this.flushNow();
    };
    for (let start = 0; start < text.length; ) {
      const newline = text.indexOf(0x0a, start);
      const next = newline + 1;
      let end = newline > start && text[newline - 1] === 0x0d ? newline - 1 : newline;
      if (stream !== "system") {
        this.outputBytes += end - start;
        if (this.outputBytes > this.o.maxTotalBytes) {
          this.truncated = true;
          const cap = this.o.maxTotalBytes;
          this.frame("system", Buffer.from(`log truncated: the job printed more than ${cap >= 2 ** 20 ? `${Math.round(cap / 2 ** 20)} MiB` : `${cap} bytes`}; the rest of its output is not kept\n`));
          return;
        }
      }
      while (end - start > this.o.maxLineBytes) {
        const cut = cutAt(text, start, this.o.maxLineBytes);
        line(start, cut);
        start = cut;
      }
      line(start, end);
      start = next;
    }
    if (this.pendingLines) this.timer ??= setTimeout(() => this.flushNow(), this.o.intervalMs);
  }

  /**
   * Room for `need` more bytes in the pending chunk. It starts small (most jobs print little) and
   * doubles; after a full chunk the next starts full-sized, so a long log is copied once, not twice.
   */
  private grow(need: number): void {
    const full = this.o.maxBytes + LOG_LINE_MAX_BYTES + 2;
    const size = Math.max(this.lastFlushFull ? full : 4096, this.pendingBytes + need, Math.min(this.pending.length * 2, full));
    const bigger = Buffer.allocUnsafe(size);
    this.pending.copy(bigger, 0, 0, this.pendingBytes);
    this.pending = bigger;
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingLines === 0) return;
    const text = this.pending.subarray(0, this.pendingBytes);
    this.lastFlushFull = this.pendingLines >= this.o.maxLines || this.pendingBytes >= this.o.maxBytes;
    const lines = this.pendingLines;
    const offset = this.framed;
    this.framed += lines;
    // The next chunk gets a buffer of its own: this one is the flight's until it is packed.
    this.pending = EMPTY;
    this.pendingLines = 0;
    this.pendingBytes = 0;
    const bytes = text.length;
    this.inFlightBytes += bytes;
    // Packed on Bun's thread pool while the event loop reads on; sent again as it is after a failure.
    const packed = Bun.zstdCompress(text, { level: PACK_LEVEL });
    const before = this.last;
    // A slot: the chunk `maxInFlight` places ahead is done (its successors may still travel).
    const slot = this.flights.length >= this.o.maxInFlight ? this.flights[this.flights.length - this.o.maxInFlight]! : Promise.resolve();
    const startedBefore = this.lastStarted;
    const started = Promise.withResolvers<void>();
    this.lastStarted = started.promise;
    const flight: Promise<void> = slot
      .then(async () => {
        const chunk = { offset, lines, packed: await packed };
        await startedBefore;
        started.resolve();
        return this.sendWithRetry(chunk, before);
      })
      .finally(() => started.resolve())
      .finally(() => {
        this.inFlightBytes -= bytes;
        this.flights.splice(this.flights.indexOf(flight), 1);
      });
    this.flights.push(flight);
    this.last = flight;
  }

  /** Sends `chunk` until it is stored; `before` settles when the chunk ahead of it is stored (or failed). */
  private async sendWithRetry(chunk: ShippedChunk, before: Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.failure) return;
      try {
        await this.options.send(chunk);
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

  /** Ships everything framed; rejects if some lines could not be delivered. */
  async close(): Promise<void> {
    this.flushNow();
    while (this.flights.length) await Promise.all([...this.flights]);
    if (this.failure) {
      throw new Error(`log lines could not be shipped: ${this.failure instanceof Error ? this.failure.message : String(this.failure)}`);
    }
  }
}

