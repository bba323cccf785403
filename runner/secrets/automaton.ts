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
 * The DFA is completed lazily, and only for the states the scan reaches: building makes the trie
 * (as child lists, not rows), linear in the patterns' bytes; a state gets its failure link and
 * its row of `step` the first time the scan enters it, and each move in it is worked out the
 * first time the scan takes it (`resolve`), then kept. A job's token alone has some 300 forms
 * (its line-wrapped base64 at every column); 100 such secrets make ~285,000 trie states, whose
 * dense rows (65 classes) were ~75 MB filled before the first byte was masked (0.6-1.4 s), while
 * a build log's scan enters a few thousand of them.
 */
import { buildStartFilter, type StartFilter } from "./start-filter.ts";

export interface Automaton {
  /** Number of byte classes (row width of `next`). */
  readonly width: number;
  /** Byte value → class. */
  readonly classOf: Uint8Array;
  /**
   * `step[row + class]` for the state whose row starts at `row` (the root's is 0) gives the next
   * state's row, bitwise-negated (`~row`, always negative) when a pattern ends there. Rows
   * instead of state numbers save a multiply per byte in the scan loop. Rows are added as the
   * scan reaches new states: `step`, `matchLength` and `depth` may be replaced by longer arrays
   * after `resolve`, so read them again after calling it.
   */
  readonly step: Int32Array;
  /** By row index (row / width): length of the longest pattern that ends in this state (0: none). */
  readonly matchLength: Int32Array;
  /** By row index: length of the text this state stands for, the longest suffix of the input that a pattern could still continue. */
  readonly depth: Int32Array;
  /** Trie states made so far (the trie is spelled out lazily too, see Trie). */
  readonly states: number;
  /** Longest pattern, in bytes. */
  readonly longest: number;
  /**
   * A `step` entry not worked out yet holds UNRESOLVED (-1, which no real entry can be: the root
   * never ends a pattern); `resolve(slot)` works it out, stores it in `step[slot]` and returns it.
   */
  readonly resolve: (slot: number) => number;
  /** Lets the scan skip text where no pattern can start; null when some pattern is too short for it. */
  readonly filter: StartFilter | null;
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
  states: 1,
  longest: 0,
  resolve: () => 0,
  filter: null,
};

/** By-state arrays of a fresh trie; they double as states are made. */
const INITIAL_STATES = 4096;

/** `a` copied into a zero-filled array of length `n`. */
function grown<T extends Int32Array | Uint8Array>(a: T, n: number): T {
  const b = (a instanceof Int32Array ? new Int32Array(n) : new Uint8Array(n)) as T;
  b.set(a);
  return b;
}

/** The lazily completed DFA over a trie with failure links; see the file's comment. */
class LazyDfa implements Automaton {
  step: Int32Array;
  matchLength: Int32Array;
  depth: Int32Array;
  /** Rows made so far. */
  private rows = 0;
  /** Trie state → its row offset + 1, 0 before the scan first enters it (as long as the trie's arrays). */
  private rowOf: Int32Array;
  /** Row index → trie state. */
  private stateOfRow: Int32Array;

  constructor(
    readonly width: number,
    readonly classOf: Uint8Array,
    readonly longest: number,
    private readonly trie: Trie,
    readonly filter: StartFilter | null,
  ) {
    const capacity = Math.min(trie.maxStates, 256);
    this.step = new Int32Array(capacity * width).fill(UNRESOLVED);
    this.matchLength = new Int32Array(capacity);
    this.depth = new Int32Array(capacity);
    this.stateOfRow = new Int32Array(capacity);
    this.rowOf = new Int32Array(trie.capacity);
    this.rowFor(0);
    // The root's row is complete: a byte that starts no pattern stays at the root.
    for (let c = 0; c < width; c++) {
      const t = trie.child(0, c);
      this.step[c] = t < 0 ? 0 : this.encode(t);
    }
  }

  get states(): number {
    return this.trie.states;
  }

  /** The row of trie state `t`, made (all moves unresolved) if the scan has not been there. */
  private rowFor(t: number): number {
    if (t >= this.rowOf.length) this.rowOf = grown(this.rowOf, this.trie.capacity);
    const known = this.rowOf[t]!;
    if (known > 0) return known - 1;
    const index = this.rows++;
    if (index === this.stateOfRow.length) this.grow();
    const row = index * this.width;
    this.rowOf[t] = row + 1;
    this.stateOfRow[index] = t;
    this.matchLength[index] = this.trie.fullMatch(t);
    this.depth[index] = this.trie.depth[t]!;
    return row;
  }

  private grow(): void {
    const capacity = Math.min(this.trie.maxStates, this.stateOfRow.length * 2);
    const longer = (a: Int32Array, n: number, fill = 0) => {
      const b = new Int32Array(n);
      if (fill !== 0) b.fill(fill, a.length);
      b.set(a);
      return b;
    };
    this.step = longer(this.step, capacity * this.width, UNRESOLVED);
    this.matchLength = longer(this.matchLength, capacity);
    this.depth = longer(this.depth, capacity);
    this.stateOfRow = longer(this.stateOfRow, capacity);
  }

  private encode(t: number): number {
    const row = this.rowFor(t);
    return this.matchLength[row / this.width]! > 0 ? ~row : row;
  }

  readonly resolve = (slot: number): number => {
    const { width, trie } = this;
    const index = Math.floor(slot / width);
    const c = slot - index * width;
    // A trie edge, or else the same move as from the failure state: walk the failure chain to a
    // trie edge or to a move already known (the root's row is complete).
    let s = this.stateOfRow[index]!;
    let value: number;
    for (;;) {
      const t = trie.child(s, c);
      if (t >= 0) {
        value = this.encode(t);
        break;
      }
      s = trie.failOf(s);
      const row = (this.rowOf[s] ?? 0) - 1;
      if (row >= 0 && this.step[row + c] !== UNRESOLVED) {
        value = this.step[row + c]!;
        break;
      }
    }
    this.step[slot] = value;
    return value;
  };
}

/**
 * A trie as child lists (first child, next sibling, the edge's class), dense at the root, spelled
 * out lazily: where a pattern leaves the states made so far, the rest of it is kept as a pending
 * tail (pattern, offset) on the state it leaves from, and one more state of it is made only when
 * `child` is asked for that move (by a later pattern sharing it, a failure link, or the scan).
 * A secret's ~120 line-wrapped base64 forms each leave its base64 at a line break and share
 * nothing after it: 100 secrets made 285,000 states before the first byte was masked, about 90%
 * of them for tails that a log never reaches.
 */
class Trie {
  /** First child + 1 (0: none; the root is nobody's child). */
  firstChild: Int32Array;
  /** Next sibling + 1 (0: none). */
  nextSibling: Int32Array;
  label: Int32Array;
  readonly rootChild: Int32Array;
  /** Longest pattern ending at the state itself; with those of its failure chain once `full`. */
  matchLength: Int32Array;
  depth: Int32Array;
  parent: Int32Array;
  /** The failure link (longest proper suffix that is a state) + 1, 0 until first asked for. */
  fail: Int32Array;
  /** Whether matchLength includes the failure chain's matches. */
  full: Uint8Array;
  /** By state: the first pending tail leaving it, as pattern index + 1 (0: none). */
  pending: Int32Array;
  /** By pattern: the next pending tail on the same state (+ 1, 0: none), and the tail's offset. */
  private readonly pendingNext: Int32Array;
  private readonly pendingAt: Int32Array;
  states = 1;
  /** Length of the by-state arrays: they start small and double (the lazy trie rarely needs maxStates). */
  capacity: number;

  constructor(
    readonly maxStates: number,
    width: number,
    private readonly patterns: readonly Uint8Array[],
    private readonly classOf: Uint8Array,
  ) {
    // Zero-filled arrays only (no fill(-1) over megabytes): "none" is 0 and indices are stored + 1.
    const n = (this.capacity = Math.min(maxStates, INITIAL_STATES));
    this.parent = new Int32Array(n);
    this.fail = new Int32Array(n);
    this.fail[0] = 1;
    this.full = new Uint8Array(n);
    this.full[0] = 1;
    this.firstChild = new Int32Array(n);
    this.nextSibling = new Int32Array(n);
    this.label = new Int32Array(n);
    this.rootChild = new Int32Array(width).fill(-1);
    this.matchLength = new Int32Array(n);
    this.depth = new Int32Array(n);
    this.pending = new Int32Array(n);
    this.pendingNext = new Int32Array(patterns.length);
    this.pendingAt = new Int32Array(patterns.length);
  }

  private grow(): void {
    const n = (this.capacity = Math.min(this.maxStates, this.capacity * 2));
    this.parent = grown(this.parent, n);
    this.fail = grown(this.fail, n);
    this.full = grown(this.full, n);
    this.firstChild = grown(this.firstChild, n);
    this.nextSibling = grown(this.nextSibling, n);
    this.label = grown(this.label, n);
    this.matchLength = grown(this.matchLength, n);
    this.depth = grown(this.depth, n);
    this.pending = grown(this.pending, n);
  }

  /** The state reached from `s` on class `c`, -1 if no pattern goes on that way. */
  child(s: number, c: number): number {
    if (s === 0) return this.rootChild[c]!;
    for (let t = this.firstChild[s]! - 1; t >= 0; t = this.nextSibling[t]! - 1) if (this.label[t] === c) return t;
    return this.pending[s] === 0 ? -1 : this.spell(s, c);
  }

  /** Leaves the rest of pattern `k`, from `at` on, pending on state `s` (no child of `s` has its next class). */
  leave(s: number, k: number, at: number): void {
    this.pendingAt[k] = at;
    this.pendingNext[k] = this.pending[s]!;
    this.pending[s] = k + 1;
  }

  /** Makes the child of `s` on class `c` for the tails pending on `s` that go on with it (-1 if none do). */
  private spell(s: number, c: number): number {
    let t = -1;
    let before = 0;
    for (let e = this.pending[s]!; e !== 0; ) {
      const k = e - 1;
      const next = this.pendingNext[k]!;
      const p = this.patterns[k]!;
      const at = this.pendingAt[k]!;
      if (this.classOf[p[at]!] === c) {
        if (before === 0) this.pending[s] = next;
        else this.pendingNext[before - 1] = next;
        if (t < 0) t = this.add(s, c);
        if (at + 1 === p.length) this.matchLength[t] = Math.max(this.matchLength[t]!, p.length);
        else this.leave(t, k, at + 1);
      } else {
        before = e;
      }
      e = next;
    }
    return t;
  }

  /**
   * The failure link of `t`, worked out on first use from its parent's (the classic breadth-first
   * construction, on demand: only states the scan reaches need one). Every call it makes is for
   * a shallower state, so it ends.
   */
  failOf(t: number): number {
    const known = this.fail[t]!;
    if (known > 0) return known - 1;
    const c = this.label[t]!;
    let f = this.failOf(this.parent[t]!);
    let to: number;
    for (;;) {
      to = this.child(f, c);
      if (to >= 0 || f === 0) break;
      f = this.failOf(f);
    }
    const link = Math.max(to, 0);
    this.fail[t] = link + 1;
    return link;
  }

  /** The longest pattern ending in `t` or along its failure chain (a suffix of what `t` stands for). */
  fullMatch(t: number): number {
    if (this.full[t]) return this.matchLength[t]!;
    const inherited = this.fullMatch(this.failOf(t));
    if (inherited > this.matchLength[t]!) this.matchLength[t] = inherited;
    this.full[t] = 1;
    return this.matchLength[t]!;
  }

  add(s: number, c: number): number {
    if (this.states === this.capacity) this.grow();
    const t = this.states++;
    this.label[t] = c;
    this.depth[t] = this.depth[s]! + 1;
    this.parent[t] = s;
    if (s === 0) {
      this.rootChild[c] = t;
      this.fail[t] = 1;
    }
    else {
      this.nextSibling[t] = this.firstChild[s]!;
      this.firstChild[s] = t + 1;
    }
    return t;
  }
}

export function buildAutomaton(patterns: readonly Uint8Array[]): Automaton {
  const used = patterns.filter((p) => p.length > 0);
  if (used.length === 0) return EMPTY_AUTOMATON;

  // Indexed loops throughout: this runs once per registration, mostly before the JIT has warmed,
  // and iterating a typed array with for-of cost a cold runner ~100 ms for 100 secrets.
  // Consecutive forms share long starts (a secret's wrapped base64 forms differ only in where the
  // line break falls): `shared[k]` is how many first bytes form k has in common with form k - 1,
  // found once here; the bytes it shares are classified already, the trie walks on from there,
  // and the start filter has their keys.
  const shared = new Int32Array(used.length);
  const classOf = new Uint8Array(256);
  let width = 1;
  let maxStates = 1;
  let longest = 0;
  for (let k = 0; k < used.length; k++) {
    const p = used[k]!;
    const previous = k > 0 ? used[k - 1]! : p.subarray(0, 0);
    let i = 0;
    while (i < p.length && i < previous.length && p[i] === previous[i]) i++;
    shared[k] = i;
    for (; i < p.length; i++) if (classOf[p[i]!] === 0) classOf[p[i]!] = width++;
    maxStates += p.length;
    longest = Math.max(longest, p.length);
  }
  // 255 distinct bytes plus class 0 still fit a Uint8Array; 256 distinct bytes would need class 256.
  if (width > 256) throw new Error("internal: byte classes overflow");
  // Rows are stored as Int32 offsets (negated for matches).
  if (maxStates * width > 0x7fffffff) throw new Error("too many secret bytes for one automaton");

  const trie = new Trie(maxStates, width, used, classOf);
  // Each pattern walks on from where it leaves the one before instead of from the root: `path[d]`
  // is the previous pattern's state at depth d, for d <= `known`.
  const path = new Int32Array(longest + 1);
  let known = 0;
  for (let k = 0; k < used.length; k++) {
    const p = used[k]!;
    let i = Math.min(shared[k]!, known);
    let s = path[i]!;
    for (; i < p.length; i++) {
      const c = classOf[p[i]!]!;
      let t = trie.child(s, c);
      if (t < 0) {
        // The root's children are always made, so its row can be complete from the start.
        if (s !== 0) break;
        t = trie.add(0, c);
      }
      s = t;
      path[i + 1] = s;
    }
    if (i === p.length) trie.matchLength[s] = Math.max(trie.matchLength[s]!, p.length);
    else trie.leave(s, k, i);
    known = i;
  }

  return new LazyDfa(width, classOf, longest, trie, buildStartFilter(used, shared));
}
