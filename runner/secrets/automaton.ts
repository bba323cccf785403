/**
 * A byte-level Aho-Corasick automaton compiled to a dense DFA.
 *
 * Why hand-written: the npm Aho-Corasick packages match JavaScript strings and report every match
 * of a complete text; masking needs a resumable byte-at-a-time state (so a secret split across
 * pipe reads is still found, and multi-byte UTF-8 split across reads is never decoded) and, for
 * each position, the longest pattern ending there plus how much of the text might still start a
 * match (the hold-back). Those two arrays fall straight out of the construction below.
 *
 * To keep the table small the 256 byte values are folded into classes: every byte that occurs in
 * some pattern gets its own class, all others share class 0.
 */
export interface Automaton {
  /** Number of byte classes (row width of `next`). */
  readonly width: number;
  /** Byte value → class. */
  readonly classOf: Uint8Array;
  /**
   * `step[row + class]` for the state whose row starts at `row` (= state * width; the root is 0)
   * gives the next state's row, bitwise-negated (`~row`, always negative) when a pattern ends
   * there. Rows instead of state numbers save a multiply per byte in the scan loop.
   */
  readonly step: Int32Array;
  /** Length of the longest pattern that ends in this state (0: none). */
  readonly matchLength: Int32Array;
  /** Length of the text this state stands for: the longest suffix of the input that a pattern could still continue. */
  readonly depth: Int32Array;
  /** Longest pattern, in bytes. */
  readonly longest: number;
}

/** The automaton that matches nothing; its only state is the root. */
export const EMPTY_AUTOMATON: Automaton = {
  width: 1,
  classOf: new Uint8Array(256),
  step: new Int32Array(1),
  matchLength: new Int32Array(1),
  depth: new Int32Array(1),
  longest: 0,
};

export function buildAutomaton(patterns: readonly Uint8Array[]): Automaton {
  const used = patterns.filter((p) => p.length > 0);
  if (used.length === 0) return EMPTY_AUTOMATON;

  const classOf = new Uint8Array(256);
  let width = 1;
  for (const p of used) {
    for (const byte of p) if (classOf[byte] === 0) classOf[byte] = width++;
  }
  // 255 distinct bytes plus class 0 still fit a Uint8Array; 256 distinct bytes would need class 256.
  if (width > 256) throw new Error("internal: byte classes overflow");

  let maxStates = 1;
  let longest = 0;
  for (const p of used) {
    maxStates += p.length;
    longest = Math.max(longest, p.length);
  }

  // Rows are stored as Int32 offsets (negated for matches).
  if (maxStates * width > 0x7fffffff) throw new Error("too many secret bytes for one automaton");
  const next = new Int32Array(maxStates * width).fill(-1);
  const matchLength = new Int32Array(maxStates);
  const depth = new Int32Array(maxStates);
  let states = 1;

  // The trie.
  for (const p of used) {
    let s = 0;
    for (const byte of p) {
      const slot = s * width + classOf[byte]!;
      let t = next[slot]!;
      if (t < 0) {
        t = states++;
        next[slot] = t;
        depth[t] = depth[s]! + 1;
      }
      s = t;
    }
    matchLength[s] = p.length;
  }

  // Breadth-first: failure links, inherited matches, and missing edges filled from the failure
  // state's (already complete) row, which turns the trie into a DFA.
  const fail = new Int32Array(states);
  const queue = new Int32Array(states);
  let head = 0;
  let tail = 0;
  for (let c = 0; c < width; c++) {
    const t = next[c]!;
    if (t < 0) next[c] = 0;
    else {
      fail[t] = 0;
      queue[tail++] = t;
    }
  }
  while (head < tail) {
    const s = queue[head++]!;
    const f = fail[s]!;
    const row = s * width;
    const failRow = f * width;
    if (matchLength[f]! > matchLength[s]!) matchLength[s] = matchLength[f]!;
    for (let c = 0; c < width; c++) {
      const t = next[row + c]!;
      if (t < 0) next[row + c] = next[failRow + c]!;
      else {
        fail[t] = next[failRow + c]!;
        queue[tail++] = t;
      }
    }
  }

  const step = states === maxStates ? next : next.slice(0, states * width);
  for (let i = 0; i < step.length; i++) {
    const t = step[i]!;
    step[i] = matchLength[t]! > 0 ? ~(t * width) : t * width;
  }
  return {
    width,
    classOf,
    step,
    matchLength: matchLength.subarray(0, states),
    depth: depth.subarray(0, states),
    longest,
  };
}
