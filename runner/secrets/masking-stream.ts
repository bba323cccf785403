import { UNRESOLVED, type Automaton } from "./automaton.ts";
import { nextStart } from "./start-filter.ts";

/** One output stream (a job's stdout, its stderr, ...) with secrets replaced before the sink. */
export interface MaskingStream {
  write(chunk: Uint8Array | string): void;
  /** Emits everything held back (masked) now; the runner calls it before it prints its own lines. */
  flush(): void;
  /** Flushes and stops; later writes are ignored. */
  end(): void;
}

/** What a stream needs from its Masker: the current automaton (rebuilt when secrets are added) and the mask bytes. */
export interface AutomatonSource {
  automaton(): Automaton;
  readonly maskBytes: Uint8Array;
}

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * Streaming masker. Every byte is fed through the automaton once. A byte is released as soon as
 * no match can still cover it: that is everything before `position - depth(state)`, so at most
 * the longest secret minus one byte is held back. Matches that overlap merge into one mask; a
 * mask already printed is continued silently when a longer overlapping match turns up later.
 * The output is never scanned again, so a mask cannot create a new match.
 */
export class MaskingStreamImpl implements MaskingStream {
  private machine: Automaton | null = null;
  /** Current automaton state, as its row offset in `step`. */
  private state = 0;
  /** Absolute offset of the first byte not yet released. */
  private released = 0;
  /** Bytes from `released` to `scanned`, not yet released. */
  private held: Uint8Array = new Uint8Array(0);
  /** Absolute offset up to which input has been fed to the automaton. */
  private scanned = 0;
  /** Found matches not yet printed: [start, end) pairs, sorted, overlapping ones merged. */
  private spans: number[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;

  constructor(
    private readonly source: AutomatonSource,
    private readonly sink: (chunk: Uint8Array) => void,
    private readonly idleFlushMs: number,
    /** Takes all the pieces of one release at once (one writev instead of one write each), if given. */
    private readonly sinkMany?: (chunks: Uint8Array[]) => void,
  ) {}

  write(chunk: Uint8Array | string): void {
    if (this.ended) return;
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    if (bytes.length === 0) return;
    const machine = this.source.automaton();
    if (machine.longest === 0 && this.held.length === 0 && this.spans.length === 0) {
      this.sink(bytes); // no secrets (yet): pass through
      return;
    }
    if (machine !== this.machine) {
      // New secrets: what is still held back is scanned again with the new automaton.
      this.machine = machine;
      this.state = 0;
      this.spans = [];
      this.scanned = this.released;
    }
    // The text from `released` on is `head` then `tail`, kept apart so a 64 KB read is not
    // copied behind the few bytes held from the last one; joined only to scan held bytes again.
    let head = this.held;
    let tail = bytes;
    if (this.scanned < this.released + head.length) {
      tail = concat(head, bytes);
      head = EMPTY;
    }
    this.scan(tail, this.released + head.length, machine);
    // At a line's end nothing is usually held (no form starts there), so the line goes out at
    // once; a form that spans line breaks (line-wrapped base64) keeps what it may still cover.
    const depth = machine.depth[this.state / machine.width]!;
    if (bytes[bytes.length - 1] === NEWLINE && depth === 0) this.release(head, tail, Infinity);
    else this.release(head, tail, this.scanned - depth);
    this.armIdleFlush();
  }

  flush(): void {
    if (this.held.length > 0 || this.spans.length > 0) this.release(this.held, EMPTY, Infinity);
    this.disarm();
  }

  end(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
  }

  /**
   * Feeds `data` (whose first byte is at absolute offset `base`) from `scanned` on. With a start
   * filter the automaton sees only the text near possible pattern starts: from a position where
   * its state stands for the text from `from` on (`from` = position - depth), the filter moves
   * over every window start at which no pattern can begin; where one may begin the automaton
   * restarts from the root. Nothing it skipped can be part of a match (every pattern is at
   * least a window long, and a window it moved over holds 4 bytes no pattern has there), and
   * at the end of `data` the state is the one a byte-by-byte scan would have: the longest
   * pattern prefix the text ends with started after everything skipped.
   */
  private scan(data: Uint8Array, base: number, machine: Automaton): void {
    const { classOf, width, filter } = machine;
    let { step, matchLength } = machine;
    const n = data.length;
    let s = this.state;
    let i = this.scanned - base;
    // The filter must not restart at or before the pattern start it last stopped at.
    let stoppedAt = -1;
    for (;;) {
      // The automaton, for a window's length at least (or to the end, without a filter).
      const stop = filter === null ? n : Math.min(n, i + filter.window);
      for (; i < stop; i++) {
        const slot = s + classOf[data[i]!]!;
        s = step[slot]!;
        if (s < 0) {
          if (s === UNRESOLVED) {
            // A move not needed before (the DFA is completed lazily): work it out once. It may add
            // a row, and so replace the arrays.
            s = machine.resolve(slot);
            step = machine.step;
            matchLength = machine.matchLength;
            if (s >= 0) continue;
          }
          s = ~s;
          const length = matchLength[s / width]!;
          this.addSpan(base + i + 1 - length, base + i + 1);
        }
      }
      if (i >= n || filter === null) break;
      // Text from `from` on may still be the start of a pattern; earlier text cannot.
      const from = i - machine.depth[s / width]!;
      if (from <= stoppedAt || from < 0) continue;
      const q = nextStart(filter, data, from);
      // A pattern may start at `q` (or the text ends within a window of it): the automaton goes
      // on from there, from the root. Short of where it stands it goes on as it was (starting
      // again from the root would report a match it has reported already).
      stoppedAt = q;
      if (q > i) {
        i = q;
        s = 0;
      }
    }
    this.state = s;
    this.scanned = base + data.length;
  }

  private addSpan(start: number, end: number): void {
    const spans = this.spans;
    // Matches arrive in order of their end; a longer one may swallow several before it.
    while (spans.length > 0 && spans[spans.length - 1]! > start) {
      end = Math.max(end, spans.pop()!);
      start = Math.min(start, spans.pop()!);
    }
    spans.push(start, end);
  }

  /**
   * Prints everything before `cut` (absolute); `Infinity` prints all and restarts matching. The
   * text from `released` on is `head` then `tail`; each piece goes to the sink as it is, no copy.
   */
  private release(head: Uint8Array, tail: Uint8Array, cut: number): void {
    const base = this.released;
    const h = head.length;
    const pieces: Uint8Array[] = [];
    const text = (from: number, to: number) => {
      const r0 = from - base;
      const r1 = to - base;
      if (r0 < h) pieces.push(head.subarray(r0, Math.min(r1, h)));
      if (r1 > h) pieces.push(tail.subarray(Math.max(r0, h) - h, r1 - h));
    };
    let at = base;
    let i = 0;
    const spans = this.spans;
    for (; i < spans.length && spans[i]! < cut; i += 2) {
      const start = spans[i]!;
      const end = spans[i + 1]!;
      if (start >= at) {
        if (start > at) text(at, start);
        pieces.push(this.source.maskBytes);
      } // else: it overlaps the mask printed last, which already stands for it
      at = Math.max(at, end);
    }
    if (i > 0) this.spans = spans.slice(i);
    const upTo = cut === Infinity ? this.scanned : cut;
    if (upTo > at) {
      text(at, upTo);
      at = upTo;
    }
    if (cut === Infinity) {
      this.state = 0;
      this.spans = [];
    }
    this.released = at;
    // Copy what is held so the caller's buffer can be reused; it is short.
    const r = at - base;
    this.held = r >= h ? tail.slice(r - h) : concat(head.subarray(r), tail);
    let n = 0;
    for (const piece of pieces) if (piece.length > 0) pieces[n++] = piece;
    pieces.length = n;
    // A write usually releases the bytes held from the one before, then its own: two pieces.
    if (n > 1 && this.sinkMany) this.sinkMany(pieces);
    else for (const piece of pieces) this.sink(piece);
  }

  private armIdleFlush(): void {
    this.disarm();
    if (this.held.length === 0 && this.spans.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.idleFlushMs);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
