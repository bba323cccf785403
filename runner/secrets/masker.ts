import { buildAutomaton, EMPTY_AUTOMATON, type Automaton } from "./automaton.ts";
import { secretForms } from "./encodings.ts";
import { MaskingStreamImpl, type AutomatonSource, type MaskingStream } from "./masking-stream.ts";

export type { MaskingStream } from "./masking-stream.ts";
export { MIN_SECRET_LENGTH } from "./encodings.ts";

export interface MaskerOptions {
  /** Printed in place of each secret; default `***`. */
  mask?: string;
  /** A stream holding back a possible secret prefix prints it after this long without output; default 500 ms. */
  idleFlushMs?: number;
}

/**
 * Replaces registered secret values, and their base64 / URL / JSON-escaped forms and the lines of
 * multi-line values, in everything the runner prints. Matching is literal over UTF-8 bytes in one
 * pass for all secrets; overlapping matches become one mask, so the longest secret wins.
 */
export class Masker implements AutomatonSource {
  private maskText: Uint8Array;
  private readonly idleFlushMs: number;
  private readonly values = new Set<string>();
  private readonly forms = new Map<string, Uint8Array>();
  private built: Automaton = EMPTY_AUTOMATON;
  private stale = false;

  constructor(options: MaskerOptions = {}) {
    const mask = options.mask ?? "***";
    this.maskText = new TextEncoder().encode(mask);
    this.idleFlushMs = options.idleFlushMs ?? 500;
  }

  /** What each secret prints as. */
  get maskBytes(): Uint8Array {
    return this.maskText;
  }

  /** Changes the mask text for all later output (a run sets it from --secret-mask before printing). */
  setMask(mask: string): void {
    this.maskText = new TextEncoder().encode(mask);
  }

  /**
   * Adds secret values (with their encoded forms); values shorter than 3 characters are ignored.
   * Applies to all later output of every stream, existing ones included. Returns how many of the
   * values were new.
   */
  register(values: Iterable<string>): number {
    let added = 0;
    for (const value of values) {
      if (typeof value !== "string" || this.values.has(value)) continue;
      const forms = secretForms(value);
      if (forms.size === 0) continue;
      this.values.add(value);
      added++;
      for (const [text, bytes] of forms) {
        if (!this.forms.has(text)) {
          this.forms.set(text, bytes);
          this.stale = true;
        }
      }
    }
    return added;
  }

  /** How many distinct values are registered. */
  get size(): number {
    return this.values.size;
  }

  /** The automaton for the secrets registered so far, rebuilt lazily after `register`. */
  automaton(): Automaton {
    if (this.stale) {
      this.built = buildAutomaton([...this.forms.values()]);
      this.stale = false;
    }
    return this.built;
  }

  /** Masks a whole string: a message, a step header, dry-run output, an error. */
  mask(text: string): string {
    if (this.values.size === 0 || text.length === 0) return text;
    const parts: Uint8Array[] = [];
    const stream = new MaskingStreamImpl(this, (chunk) => parts.push(chunk.slice()), this.idleFlushMs);
    stream.write(text);
    stream.end();
    return Buffer.concat(parts).toString("utf8");
  }

  /**
   * A masking stream for one output; create one per stdout / stderr. `sinkMany`, if given, takes
   * the pieces of one write's output together (for one writev).
   */
  stream(sink: (chunk: Uint8Array) => void, sinkMany?: (chunks: Uint8Array[]) => void): MaskingStream {
    return new MaskingStreamImpl(this, sink, this.idleFlushMs, sinkMany);
  }
}
