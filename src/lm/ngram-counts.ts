/**
 * The n-gram core that koe's language models share (characters: char-ngram.ts, words:
 * word-ngram.ts): counts of the tokens that follow each history of token ids, and interpolated
 * Witten-Bell estimates from them:
 *
 *   P(t | h) = (C(h t) + T(h) * P(t | h')) / (C(h) + T(h))
 * where h' drops the oldest token of h, C counts, and T(h) is the number of distinct tokens seen
 * after h; the recursion ends at the uniform distribution over the `size` predictable tokens
 * (ids 0..size-1). A history may also hold ids that are never predicted (start-of-sentence
 * padding, symbols unseen in training); a history never seen in training adds nothing.
 *
 * Counting (training, or reading a file) goes into an {@link NgramCounter}; queries go to the
 * {@link NgramTable} it builds, which keeps the counts in typed arrays: a word trigram model of
 * ~900k n-grams loads in a fraction of the time and memory that a Map per history took.
 */

/** Map key of a history (token ids, oldest first). */
function historyKey(history: readonly number[]): string {
  return history.join(',');
}

function historyOf(key: string): number[] {
  return key === '' ? [] : key.split(',').map(Number);
}

/** The counts as flat arrays, history by history (for files). */
export interface PackedNgrams {
  /** Tokens in each history. */
  historyLengths: number[];
  /** The histories' token ids, oldest first, one history after another. */
  historyIds: number[];
  /** Distinct followers of each history. */
  types: number[];
  /** The followers' token ids (ascending within a history) and their counts, one history after another. */
  tokens: number[];
  counts: number[];
}

interface Followers {
  history: readonly number[];
  counts: Map<number, number>;
}

/** N-gram counts being collected. */
export class NgramCounter {
  /** Keyed by {@link historyKey}, in the order the histories were first seen. */
  private readonly histories = new Map<string, Followers>();

  /**
   * @param order tokens of context + 1
   * @param size number of predictable tokens (ids 0..size-1)
   */
  constructor(
    readonly order: number,
    readonly size: number,
  ) {
    if (!Number.isInteger(order) || order < 1) throw new Error('n-gram order must be a positive integer');
  }

  /** Add `count` to token `token` after `history`. */
  add(history: readonly number[], token: number, count = 1): void {
    const key = historyKey(history);
    let entry = this.histories.get(key);
    if (!entry) this.histories.set(key, (entry = { history, counts: new Map() }));
    entry.counts.set(token, (entry.counts.get(token) ?? 0) + count);
  }

  /**
   * Count each token of a sentence (`tokens`, its end symbol included) after each of its
   * histories of 0..order-1 tokens; the start is padded with `bos`.
   */
  addSentence(tokens: readonly number[], bos: number): void {
    const padded = [...new Array<number>(this.order - 1).fill(bos), ...tokens];
    for (let i = this.order - 1; i < padded.length; i++) {
      for (let n = 0; n < this.order; n++) this.add(padded.slice(i - n, i), padded[i] as number);
    }
  }

  /** Drop the n-grams seen fewer than `minCount` times whose history has at least `minHistory` tokens. */
  prune(minCount: number, minHistory: number): void {
    if (minCount <= 1) return;
    for (const [key, entry] of this.histories) {
      if (entry.history.length < minHistory) continue;
      for (const [token, n] of entry.counts) if (n < minCount) entry.counts.delete(token);
      if (entry.counts.size === 0) this.histories.delete(key);
    }
  }

  /** The counts, ready for queries. */
  table(): NgramTable {
    const packed: PackedNgrams = { historyLengths: [], historyIds: [], types: [], tokens: [], counts: [] };
    for (const { history, counts } of this.histories.values()) {
      packed.historyLengths.push(history.length);
      packed.historyIds.push(...history);
      packed.types.push(counts.size);
      for (const [token, n] of [...counts].sort((a, b) => a[0] - b[0])) {
        packed.tokens.push(token);
        packed.counts.push(n);
      }
    }
    return NgramTable.fromPacked(this.order, this.size, packed);
  }
}

/** N-gram counts for queries: history h's followers are tokens[offsets[h]..offsets[h+1]) (ascending) with their counts. */
export class NgramTable {
  private constructor(
    readonly order: number,
    readonly size: number,
    /** History key -> history number h. */
    private readonly index: Map<string, number>,
    private readonly offsets: Uint32Array,
    private readonly tokens: Uint32Array,
    private readonly counts: Uint32Array,
    /** C(h): the sum of h's counts. */
    private readonly totals: Float64Array,
  ) {}

  /** Throws if `p` does not describe histories of at most order-1 tokens followed by tokens below `size`. */
  static fromPacked(order: number, size: number, p: PackedNgrams): NgramTable {
    const histories = p.historyLengths.length;
    const ngrams = p.tokens.length;
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    if (p.types.length !== histories || sum(p.historyLengths) !== p.historyIds.length || sum(p.types) !== ngrams || p.counts.length !== ngrams) {
      throw new Error('n-gram arrays do not match');
    }
    const index = new Map<string, number>();
    const offsets = new Uint32Array(histories + 1);
    const totals = new Float64Array(histories);
    let at = 0;
    for (let h = 0; h < histories; h++) {
      const length = p.historyLengths[h] as number;
      if (length >= order) throw new Error(`a history of ${length} tokens in an order-${order} model`);
      index.set(historyKey(p.historyIds.slice(at, at + length)), h);
      at += length;
      offsets[h + 1] = (offsets[h] as number) + (p.types[h] as number);
      for (let i = offsets[h] as number; i < (offsets[h + 1] as number); i++) totals[h] += p.counts[i] as number;
    }
    if (p.tokens.some((t) => !(t >= 0 && t < size))) throw new Error(`a token id outside 0..${size - 1}`);
    return new NgramTable(order, size, index, offsets, Uint32Array.from(p.tokens), Uint32Array.from(p.counts), totals);
  }

  pack(): PackedNgrams {
    const historyLengths: number[] = [];
    const historyIds: number[] = [];
    for (const key of this.index.keys()) {
      const history = historyOf(key);
      historyLengths.push(history.length);
      historyIds.push(...history);
    }
    const types = Array.from({ length: this.index.size }, (_, h) => (this.offsets[h + 1] as number) - (this.offsets[h] as number));
    return { historyLengths, historyIds, types, tokens: [...this.tokens], counts: [...this.counts] };
  }

  /** Every history (oldest token first) with C(h) and its followers' [token, count], in the order first seen. */
  *entries(): IterableIterator<{ history: number[]; total: number; followers: [number, number][] }> {
    for (const [key, h] of this.index) {
      const followers: [number, number][] = [];
      for (let i = this.offsets[h] as number; i < (this.offsets[h + 1] as number); i++) followers.push([this.tokens[i] as number, this.counts[i] as number]);
      yield { history: historyOf(key), total: this.totals[h] as number, followers };
    }
  }

  /** Number of n-grams (history, token) with a count. */
  get ngrams(): number {
    return this.tokens.length;
  }

  /** The histories that smooth a prediction after `history`: its suffixes, shortest first (unseen ones left out). */
  private *levels(history: readonly number[]): IterableIterator<number> {
    for (let n = 0; n <= history.length; n++) {
      const h = this.index.get(historyKey(history.slice(history.length - n)));
      if (h !== undefined) yield h;
    }
  }

  /** C(h t), by binary search among h's followers. */
  private count(h: number, token: number): number {
    let lo = this.offsets[h] as number;
    let hi = (this.offsets[h + 1] as number) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.tokens[mid] as number;
      if (t === token) return this.counts[mid] as number;
      if (t < token) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** P(t | history) for every token t (sums to 1). */
  distribution(history: readonly number[]): Float64Array {
    const probs = new Float64Array(this.size).fill(1 / this.size);
    for (const h of this.levels(history)) {
      const end = this.offsets[h + 1] as number;
      let i = this.offsets[h] as number;
      const types = end - i;
      const denom = (this.totals[h] as number) + types;
      for (let t = 0; t < this.size; t++) {
        const c = i < end && this.tokens[i] === t ? (this.counts[i++] as number) : 0;
        probs[t] = (c + types * (probs[t] as number)) / denom;
      }
    }
    return probs;
  }

  /** P(token | history): one entry of {@link distribution}, without computing the others. */
  probability(history: readonly number[], token: number): number {
    let p = 1 / this.size;
    for (const h of this.levels(history)) {
      const types = (this.offsets[h + 1] as number) - (this.offsets[h] as number);
      p = (this.count(h, token) + types * p) / ((this.totals[h] as number) + types);
    }
    return p;
  }
}
