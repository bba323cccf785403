/**
 * Lets the masking scan jump over text where no secret form can start, instead of feeding every
 * byte to the automaton: the shift table of Wu and Manber's multi-pattern search, over the
 * first `window` bytes of every pattern (all patterns are at least that long).
 *
 * The scan looks at the 4 bytes that end a window of text; if no pattern start holds them at
 * any offset, no pattern starts anywhere in the window, and it moves on by a whole window; if
 * they sit at offset j of some pattern start at most, it moves `window - 4 - j` bytes. Where the
 * table says 0, `head` (the first 4 bytes of every pattern start) decides whether a pattern may
 * start right there; only then does the automaton take over. Both tables are indexed by a hash,
 * so a collision only means a shorter move or a needless look by the automaton, never a miss.
 *
 * In a build log most 4-byte windows end in bytes no secret's start holds, so the scan reads
 * about one byte in ten instead of every byte.
 */
export interface StartFilter {
  /** Bytes of each pattern's start the tables know; no pattern is shorter. */
  readonly window: number;
  /** `hash(4 bytes ending a window)` → how far the window may move (0: a pattern start may end here). */
  readonly shift: Uint8Array;
  /** `hash(4 bytes starting a window)` → 1 if some pattern starts with them. */
  readonly head: Uint8Array;
  /** `32 - log2(table size)`: the hash is `Math.imul(4 bytes little-endian, HASH) >>> hashShift`. */
  readonly hashShift: number;
}

/** Knuth's multiplicative hash constant (2^32 / golden ratio). */
export const HASH = 0x9e3779b1;
/** Bytes per table entry's key. */
const GRAM = 4;
/** Longest window used (moves are at most window - 3): 32 bytes measured best for 100 secrets. */
const MAX_WINDOW = 32;
/** Table entries per 4-byte key of all patterns' windows (many are shared): 100 secrets fill about a seventh of theirs. */
const FILL = 0.5;
/** Largest tables: 1 MB each (2^20 entries). */
const MAX_BITS = 20;
/** Below this the moves are too short to beat feeding every byte to the automaton. */
const MIN_WINDOW = 8;

/**
 * The first window start from `from` on where a pattern may start, or, if there is none, a
 * position past `data.length - window` (within a window of the end) from which none was ruled out.
 * About 7 ns a step on this machine (2-core EPYC), one step per ~27 bytes of a build log.
 */
export function nextStart(filter: StartFilter, data: Uint8Array, from: number): number {
  const { window, shift, head, hashShift } = filter;
  const last = data.length - window;
  const tail = window - GRAM;
  let q = from;
  while (q <= last) {
    const e = q + tail;
    const move = shift[Math.imul(data[e]! | (data[e + 1]! << 8) | (data[e + 2]! << 16) | (data[e + 3]! << 24), HASH) >>> hashShift]!;
    if (move !== 0) q += move;
    else if (head[Math.imul(data[q]! | (data[q + 1]! << 8) | (data[q + 2]! << 16) | (data[q + 3]! << 24), HASH) >>> hashShift] === 0) q++;
    else break;
  }
  return q;
}

/**
 * The filter for `patterns`, or null when one is too short for it to pay. `shared[k]`, if given,
 * is how many first bytes pattern k has in common with pattern k - 1.
 */
export function buildStartFilter(patterns: readonly Uint8Array[], shared?: Int32Array): StartFilter | null {
  // Indexed loops and a rolling key: this runs once per registration, before the JIT has warmed.
  let shortest = Infinity;
  for (let k = 0; k < patterns.length; k++) shortest = Math.min(shortest, patterns[k]!.length);
  const window = Math.min(shortest, MAX_WINDOW);
  if (patterns.length === 0 || window < MIN_WINDOW) return null;
  // Many forms share their start (a secret's wrapped base64 forms start like its base64), so
  // the table is sized for a fraction of all starts' entries; a fuller table moves less.
  let bits = 12;
  const entries = patterns.length * (window - GRAM + 1);
  while (bits < MAX_BITS && 1 << bits < entries * FILL) bits++;
  const hashShift = 32 - bits;
  const shift = new Uint8Array(1 << bits).fill(window - GRAM + 1);
  const head = new Uint8Array(1 << bits);
  for (let k = 0; k < patterns.length; k++) {
    const p = patterns[k]!;
    // Consecutive forms often share their window (wrapped base64 breaking after it) or most of
    // it: the keys ending within the shared bytes are the previous pattern's, already entered.
    let same = 0;
    if (shared) same = Math.min(shared[k]!, window);
    else if (k > 0) while (same < window && p[same] === patterns[k - 1]![same]) same++;
    if (same === window) continue;
    let key = p[0]! | (p[1]! << 8) | (p[2]! << 16) | (p[3]! << 24);
    if (same < GRAM) head[Math.imul(key, HASH) >>> hashShift] = 1;
    for (let end = GRAM; ; end++) {
      // `key` holds p[end - 4 .. end): its move is how far the window's end is past it.
      if (end > same) {
        const h = Math.imul(key, HASH) >>> hashShift;
        const move = window - end;
        if (move < shift[h]!) shift[h] = move;
      }
      if (end === window) break;
      key = (key >>> 8) | (p[end]! << 24);
    }
  }
  return { window, shift, head, hashShift };
}
