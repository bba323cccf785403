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
 *
 * The DFA is completed lazily: building fills only the trie's edges and the failure links
 * (linear in the patterns' bytes), and a transition the scan meets for the first time is worked
 * out then, from the failure links, and kept (`resolve`). A job's token alone has some 300 forms
 * (its line-wrapped base64 at every column), about 20,000 states; filling every state's row up
 * front cost each job tens of milliseconds for transitions its output never takes.
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
  /**
   * A `step` entry not worked out yet holds UNRESOLVED (-1, which no real entry can be: the root
   * never ends a pattern); `resolve(slot)` works it out, stores it in `step[slot]` and returns it.
   */
  readonly resolve: (slot: number) => number;
}

/** A `step` entry the scan has not needed yet (see Automaton.resolve). */
export const UNRESOLVED = -1;

/** The automaton that matches nothing; its only state is the root. */
export const EMPTY_AUTOMATON: Automaton = {
  width: 1,
  classOf: new Uint8Array(256),
  step: new Int32Array(1),
  matchLength: new Int32Array(1),
  depth: new Int32Array(1),
  longest: 0,
  resolve: () => 0,
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
  // The trie's edges, as state numbers (-1: none).
  const trie = new Int32Array(maxStates * width).fill(-1);
  const matchLength = new Int32Array(maxStates);
  const depth = new Int32Array(maxStates);
  let states = 1;
  for (const p of used) {
    let s = 0;
    for (const byte of p) {
      const slot = s * width + classOf[byte]!;
      let t = trie[slot]!;
      if (t < 0) {
        t = states++;
        trie[slot] = t;
        depth[t] = depth[s]! + 1;
      }
      s = t;
    }
    matchLength[s] = p.length;
  }

  // Breadth-first: failure links (the longest proper suffix that is a trie state) and inherited matches.
  const fail = new Int32Array(states);
  /** The state after `s` reads class `c`, following failure links (no DFA rows needed). */
  const goto = (s: number, c: number): number => {
    for (;;) {
      const t = trie[s * width + c]!;
      if (t >= 0) return t;
      if (s === 0) return 0;
      s = fail[s]!;
    }
  };
  const queue = new Int32Array(states);
  let head = 0;
  let tail = 0;
  for (let c = 0; c < width; c++) {
    const t = trie[c]!;
    if (t >= 0) queue[tail++] = t; // fail[t] = 0
  }
  while (head < tail) {
    const s = queue[head++]!;
    if (matchLength[fail[s]!]! > matchLength[s]!) matchLength[s] = matchLength[fail[s]!]!;
    const row = s * width;
    for (let c = 0; c < width; c++) {
      const t = trie[row + c]!;
      if (t < 0) continue;
      fail[t] = goto(fail[s]!, c);
      queue[tail++] = t;
    }
  }

  const encode = (t: number) => (matchLength[t]! > 0 ? ~(t * width) : t * width);
  const step = new Int32Array(states * width).fill(UNRESOLVED);
  for (let slot = 0; slot < states * width; slot++) {
    const t = trie[slot]!;
    if (t >= 0) step[slot] = encode(t);
  }
  // The root's row is complete: a byte that starts no pattern stays at the root.
  for (let c = 0; c < width; c++) if (step[c] === UNRESOLVED) step[c] = 0;
  const resolve = (slot: number): number => {
    // Not a trie edge: the same move as from the failure state. Walk the failure chain to the
    // first move already known (the root's row is complete) and keep it for every slot passed.
    const passed: number[] = [];
    let at = slot;
    let known: number;
    while ((known = step[at]!) === UNRESOLVED) {
      passed.push(at);
      const s = Math.floor(at / width);
      at = fail[s]! * width + (at - s * width);
    }
    for (const p of passed) step[p] = known;
    return known;
  };
  return {
    width,
    classOf,
    step,
    matchLength: matchLength.subarray(0, states),
    depth: depth.subarray(0, states),
    longest,
    resolve,
  };
}
