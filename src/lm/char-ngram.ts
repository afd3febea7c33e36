/**
 * A character n-gram language model with interpolated Witten-Bell smoothing (the shared core in
 * ngram-counts.ts), over the model's characters plus an end-of-sentence symbol. Trained from
 * plain text (one sentence per line), saved as gzipped JSON, and queried by context string
 * during beam search.
 */
import { normalizeTranscript } from '../text/normalize.js';
import { isLmFormat, readLmFile, writeLmFile, type LmDocument } from './lm-file.js';
import { NgramCounter, type NgramTable } from './ngram-counts.js';

export const LM_FORMAT = 'koe-char-lm';
export const LM_FORMAT_VERSION = 1;
/** End of sentence in the LM's alphabet. */
export const LM_EOS = '$';
/** Start-of-sentence padding in contexts. */
const BOS = '^';

/** The file's `contexts`: context string -> [total, follower character -> count]. */
type SavedContexts = Record<string, [number, Record<string, number>]>;

export interface CharLmTrainOptions {
  order: number;
  /** Drop n-grams of order >= 3 seen fewer than this many times (keeps the file small). */
  minCount: number;
}

export const DEFAULT_LM_OPTIONS: CharLmTrainOptions = { order: 6, minCount: 2 };

/** Token ids of the n-gram core: a character's index in the alphabet; BOS the next id. */
function charIds(alphabet: readonly string[]): Map<string, number> {
  const ids = new Map(alphabet.map((c, i) => [c, i]));
  ids.set(BOS, alphabet.length);
  return ids;
}

/** The ids of `text`'s characters; a character outside the alphabet gets an id that no history has. */
function idsOf(ids: ReadonlyMap<string, number>, text: string): number[] {
  return [...text].map((c) => ids.get(c) ?? ids.size);
}

export class CharNgramLm {
  private readonly cache = new Map<string, Map<string, number>>();
  private readonly ids: Map<string, number>;

  private constructor(
    private readonly counts: NgramTable,
    readonly alphabet: string[],
  ) {
    this.ids = charIds(alphabet);
  }

  get order(): number {
    return this.counts.order;
  }

  /** Count n-grams of all orders up to `order` over normalized sentences. */
  static train(sentences: Iterable<string>, opts: Partial<CharLmTrainOptions> = {}): CharNgramLm {
    const { order, minCount } = { ...DEFAULT_LM_OPTIONS, ...opts };
    if (!Number.isInteger(order) || order < 1 || order > 12) throw new Error('LM order must be an integer from 1 to 12');
    const texts = [...sentences].map((s) => normalizeTranscript(s)).filter(Boolean);
    const chars = new Set<string>([LM_EOS]);
    for (const s of texts) for (const c of s) chars.add(c);
    const alphabet = [...chars].sort();
    const ids = charIds(alphabet);
    const counter = new NgramCounter(order, alphabet.length);
    for (const s of texts) counter.addSentence(idsOf(ids, s + LM_EOS), ids.get(BOS) as number);
    counter.prune(minCount, 2);
    return new CharNgramLm(counter.table(), alphabet);
  }

  /** Probability distribution over the alphabet after `history` (the sentence so far). */
  distribution(history: string): Map<string, number> {
    const ctx = (BOS.repeat(this.order - 1) + history).slice(-(this.order - 1) || undefined);
    const key = this.order === 1 ? '' : ctx;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const dist = this.counts.distribution(idsOf(this.ids, key));
    const probs = new Map(this.alphabet.map((c, i) => [c, dist[i] as number]));
    if (this.cache.size > 200_000) this.cache.clear();
    this.cache.set(key, probs);
    return probs;
  }

  /** Natural log-probability of character `c` (or LM_EOS) after `history`. */
  logProb(history: string, c: string): number {
    const p = this.distribution(history).get(c);
    return Math.log(p ?? 1e-12);
  }

  /** Bits per character on held-out sentences (end symbol included). */
  bitsPerChar(sentences: Iterable<string>): number {
    let bits = 0;
    let n = 0;
    for (const raw of sentences) {
      const s = normalizeTranscript(raw);
      if (!s) continue;
      for (let i = 0; i <= s.length; i++) {
        bits -= this.logProb(s.slice(0, i), i < s.length ? (s[i] as string) : LM_EOS) / Math.LN2;
        n++;
      }
    }
    return bits / Math.max(1, n);
  }

  get size(): number {
    return this.counts.ngrams;
  }

  async save(file: string): Promise<void> {
    const symbol = (id: number): string => (id === this.alphabet.length ? BOS : (this.alphabet[id] as string));
    const contexts: SavedContexts = {};
    for (const { history, total, followers } of this.counts.entries()) {
      contexts[history.map(symbol).join('')] = [total, Object.fromEntries(followers.map(([id, n]) => [symbol(id), n]))];
    }
    await writeLmFile(file, { format: LM_FORMAT, formatVersion: LM_FORMAT_VERSION, order: this.order, alphabet: this.alphabet, contexts });
  }

  static async load(file: string): Promise<CharNgramLm> {
    return CharNgramLm.fromDocument(await readLmFile(file), file);
  }

  /** The LM in a parsed file (`file` names it in errors). */
  static fromDocument(doc: LmDocument, file: string): CharNgramLm {
    if (!isLmFormat(doc, LM_FORMAT, LM_FORMAT_VERSION)) throw new Error(`${file} is not a koe character LM of format version ${LM_FORMAT_VERSION}`);
    const alphabet = doc.alphabet as string[];
    const ids = charIds(alphabet);
    const counter = new NgramCounter(doc.order as number, alphabet.length);
    for (const [ctx, [, followers]] of Object.entries(doc.contexts as SavedContexts)) {
      for (const [c, n] of Object.entries(followers)) counter.add(idsOf(ids, ctx), ids.get(c) as number, n);
    }
    return new CharNgramLm(counter.table(), alphabet);
  }
}
