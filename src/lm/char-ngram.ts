/**
 * A character n-gram language model with interpolated Witten-Bell smoothing, over the
 * model's characters plus an end-of-sentence symbol. Trained from plain text (one sentence
 * per line), saved as gzipped JSON, and queried by context string during beam search.
 *
 *   P(c | h) = (C(h c) + T(h) * P(c | h')) / (C(h) + T(h))
 * where h' drops the oldest character of h, C counts, and T(h) is the number of distinct
 * characters seen after h; the recursion ends at the uniform distribution.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../io/atomic.js';
import { normalizeTranscript } from '../text/normalize.js';

export const LM_FORMAT = 'koe-char-lm';
export const LM_FORMAT_VERSION = 1;
/** End of sentence in the LM's alphabet. */
export const LM_EOS = '$';
/** Start-of-sentence padding in contexts. */
const BOS = '^';

interface ContextCounts {
  total: number;
  followers: Map<string, number>;
}

export interface CharLmTrainOptions {
  order: number;
  /** Drop n-grams of order >= 3 seen fewer than this many times (keeps the file small). */
  minCount: number;
}

export const DEFAULT_LM_OPTIONS: CharLmTrainOptions = { order: 6, minCount: 2 };

export class CharNgramLm {
  private readonly cache = new Map<string, Map<string, number>>();
  readonly alphabet: string[];

  private constructor(
    readonly order: number,
    private readonly contexts: Map<string, ContextCounts>,
    alphabet: string[],
  ) {
    this.alphabet = alphabet;
  }

  /** Count n-grams of all orders up to `order` over normalized sentences. */
  static train(sentences: Iterable<string>, opts: Partial<CharLmTrainOptions> = {}): CharNgramLm {
    const { order, minCount } = { ...DEFAULT_LM_OPTIONS, ...opts };
    if (!Number.isInteger(order) || order < 1 || order > 12) throw new Error('LM order must be an integer from 1 to 12');
    const contexts = new Map<string, ContextCounts>();
    const alphabet = new Set<string>([LM_EOS]);
    for (const raw of sentences) {
      const s = normalizeTranscript(raw);
      if (!s) continue;
      const padded = BOS.repeat(order - 1) + s + LM_EOS;
      for (let i = order - 1; i < padded.length; i++) {
        const c = padded[i] as string;
        alphabet.add(c);
        for (let n = 0; n < order; n++) {
          const ctx = padded.slice(i - n, i);
          let entry = contexts.get(ctx);
          if (!entry) contexts.set(ctx, (entry = { total: 0, followers: new Map() }));
          entry.total++;
          entry.followers.set(c, (entry.followers.get(c) ?? 0) + 1);
        }
      }
    }
    if (minCount > 1) {
      for (const [ctx, entry] of contexts) {
        if (ctx.length < 2) continue;
        for (const [c, n] of entry.followers) {
          if (n < minCount) {
            entry.followers.delete(c);
            entry.total -= n;
          }
        }
        if (entry.followers.size === 0) contexts.delete(ctx);
      }
    }
    return new CharNgramLm(order, contexts, [...alphabet].sort());
  }

  /** Probability distribution over the alphabet after `history` (the sentence so far). */
  distribution(history: string): Map<string, number> {
    const ctx = (BOS.repeat(this.order - 1) + history).slice(-(this.order - 1) || undefined);
    const key = this.order === 1 ? '' : ctx;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let probs = new Map(this.alphabet.map((c) => [c, 1 / this.alphabet.length]));
    for (let n = 0; n <= key.length; n++) {
      const entry = this.contexts.get(key.slice(key.length - n));
      if (!entry) continue;
      const types = entry.followers.size;
      const denom = entry.total + types;
      const next = new Map<string, number>();
      for (const c of this.alphabet) next.set(c, ((entry.followers.get(c) ?? 0) + types * (probs.get(c) as number)) / denom);
      probs = next;
    }
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
    let n = 0;
    for (const e of this.contexts.values()) n += e.followers.size;
    return n;
  }

  async save(file: string): Promise<void> {
    const contexts: Record<string, [number, Record<string, number>]> = {};
    for (const [ctx, e] of this.contexts) contexts[ctx] = [e.total, Object.fromEntries(e.followers)];
    const json = JSON.stringify({ format: LM_FORMAT, formatVersion: LM_FORMAT_VERSION, order: this.order, alphabet: this.alphabet, contexts });
    await writeFileAtomic(file, gzipSync(json));
  }

  static async load(file: string): Promise<CharNgramLm> {
    let doc: { format?: string; formatVersion?: number; order: number; alphabet: string[]; contexts: Record<string, [number, Record<string, number>]> };
    try {
      doc = JSON.parse(gunzipSync(await readFile(file)).toString('utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `language model ${file} not found` : `language model ${file} is corrupt or not a koe LM`);
    }
    if (doc.format !== LM_FORMAT || doc.formatVersion !== LM_FORMAT_VERSION) throw new Error(`${file} is not a koe character LM of format version ${LM_FORMAT_VERSION}`);
    const contexts = new Map<string, ContextCounts>();
    for (const [ctx, [total, followers]] of Object.entries(doc.contexts)) contexts.set(ctx, { total, followers: new Map(Object.entries(followers)) });
    return new CharNgramLm(doc.order, contexts, doc.alphabet);
  }
}
