/**
 * A word n-gram language model with interpolated Witten-Bell smoothing (the shared core in
 * ngram-counts.ts), over the training text's words plus one unknown-word symbol (`<unk>`) and an
 * end-of-sentence symbol (`</s>`). It also knows every prefix of its words, so that beam search
 * can tell whether the characters of a word spelled so far can still become a known word.
 * Trained from normalized text (one sentence per line), saved as gzipped JSON (`koe-word-lm`).
 *
 * Storage: words are ids (an array and a Map), the n-gram tables are arrays of numbers in the
 * file and Maps in memory; never plain objects keyed by words. Objects that JSON.parse builds with
 * word keys get hidden classes (V8 shapes) named by those words; one keyed "real" shared its
 * shape tree with meyda's FFT `{ real, imag }` literals, and feature extraction ran 45x slower
 * once such an LM was loaded.
 */
import { normalizeTranscript } from '../text/normalize.js';
import { LM_FORMAT } from './char-ngram.js';
import { isLmFormat, readLmFile, writeLmFile, type LmDocument } from './lm-file.js';
import { NgramCounter, NgramTable, type PackedNgrams } from './ngram-counts.js';

export const WORD_LM_FORMAT = 'koe-word-lm';
export const WORD_LM_FORMAT_VERSION = 1;
export const UNK = '<unk>';
export const WORD_EOS = '</s>';
/** Token ids of the two symbols; the words follow in sorted order. */
export const UNK_ID = 0;
export const WORD_EOS_ID = 1;

export interface WordLmTrainOptions {
  /** Words of context + 1. */
  order: number;
  /** Drop n-grams of order >= 2 seen fewer than this many times (1 keeps all); every word stays in the vocabulary. */
  minCount: number;
}

export const DEFAULT_WORD_LM_OPTIONS: WordLmTrainOptions = { order: 3, minCount: 1 };

export interface WordLmEvaluation {
  /** exp(-mean natural log-probability) per word and end of sentence, unknown words scored as `<unk>`. */
  perplexity: number;
  /** Share of the words (ends of sentences not counted) that are not in the vocabulary. */
  oovRate: number;
  words: number;
  oovWords: number;
  sentences: number;
}

/** The words of a normalized sentence. */
function wordsOf(sentence: string): string[] {
  return sentence.split(' ').filter(Boolean);
}

export class WordNgramLm {
  private readonly ids: Map<string, number>;
  private readonly prefixes = new Set<string>();
  private readonly cache = new Map<string, number>();
  /** The history at the start of a sentence. */
  readonly start: readonly number[];

  /** `words[id]`: `<unk>`, `</s>`, then the vocabulary. */
  private constructor(
    private readonly counts: NgramTable,
    readonly words: readonly string[],
  ) {
    this.ids = new Map(words.map((w, i) => [w, i]));
    for (const w of words.slice(WORD_EOS_ID + 1)) for (let i = 1; i <= w.length; i++) this.prefixes.add(w.slice(0, i));
    // Start padding: an id that is never predicted.
    this.start = new Array<number>(counts.order - 1).fill(words.length);
  }

  get order(): number {
    return this.counts.order;
  }

  /** Number of n-grams with a count. */
  get size(): number {
    return this.counts.ngrams;
  }

  /** Words in the vocabulary (the two symbols not counted). */
  get vocabularySize(): number {
    return this.words.length - (WORD_EOS_ID + 1);
  }

  static train(sentences: Iterable<string>, opts: Partial<WordLmTrainOptions> = {}): WordNgramLm {
    const { order, minCount } = { ...DEFAULT_WORD_LM_OPTIONS, ...opts };
    if (!Number.isInteger(order) || order < 1 || order > 6) throw new Error('word LM order must be an integer from 1 to 6');
    const texts = [...sentences].map((s) => wordsOf(normalizeTranscript(s))).filter((ws) => ws.length > 0);
    const vocabulary = new Set<string>();
    for (const ws of texts) for (const w of ws) vocabulary.add(w);
    const words = [UNK, WORD_EOS, ...[...vocabulary].sort()];
    const ids = new Map(words.map((w, i) => [w, i]));
    const counter = new NgramCounter(order, words.length);
    for (const ws of texts) counter.addSentence([...ws.map((w) => ids.get(w) as number), WORD_EOS_ID], words.length);
    counter.prune(minCount, 1);
    return new WordNgramLm(counter.table(), words);
  }

  /** The id of `word`, or UNK_ID. */
  id(word: string): number {
    return this.ids.get(word) ?? UNK_ID;
  }

  /** Whether `chars` begins (or is) a word of the vocabulary. */
  isPrefix(chars: string): boolean {
    return this.prefixes.has(chars);
  }

  /** The history after `history` (from {@link start}) and then token `id`. */
  next(history: readonly number[], id: number): readonly number[] {
    return history.length === 0 ? history : [...history.slice(1), id];
  }

  /** Natural log-probability of token `id` (a word id, UNK_ID or WORD_EOS_ID) after `history`; cached. */
  logProb(history: readonly number[], id: number): number {
    const key = `${history.join(',')}:${id}`;
    let lp = this.cache.get(key);
    if (lp === undefined) {
      lp = Math.log(this.counts.probability(history, id));
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(key, lp);
    }
    return lp;
  }

  /** Perplexity and out-of-vocabulary rate on held-out sentences. */
  evaluate(sentences: Iterable<string>): WordLmEvaluation {
    let logProb = 0;
    let words = 0;
    let oovWords = 0;
    let count = 0;
    for (const raw of sentences) {
      const ws = wordsOf(normalizeTranscript(raw));
      if (ws.length === 0) continue;
      let history = this.start;
      for (const id of [...ws.map((w) => this.id(w)), WORD_EOS_ID]) {
        logProb += this.logProb(history, id);
        history = this.next(history, id);
        if (id === UNK_ID) oovWords++;
      }
      words += ws.length;
      count++;
    }
    return { perplexity: Math.exp(-logProb / Math.max(1, words + count)), oovRate: oovWords / Math.max(1, words), words, oovWords, sentences: count };
  }

  async save(file: string): Promise<void> {
    await writeLmFile(file, { format: WORD_LM_FORMAT, formatVersion: WORD_LM_FORMAT_VERSION, order: this.order, words: this.words, ngrams: this.counts.pack() });
  }

  static async load(file: string): Promise<WordNgramLm> {
    return WordNgramLm.fromDocument(await readLmFile(file), file);
  }

  /** The LM in a parsed file (`file` names it in errors). */
  static fromDocument(doc: LmDocument, file: string): WordNgramLm {
    if (!isLmFormat(doc, WORD_LM_FORMAT, WORD_LM_FORMAT_VERSION)) {
      const what = doc.format === LM_FORMAT ? 'it is a character LM (use it as lm.bin or with --lm)' : `format ${JSON.stringify(doc.format)}, version ${JSON.stringify(doc.formatVersion)}`;
      throw new Error(`${file} is not a koe word LM of format version ${WORD_LM_FORMAT_VERSION}: ${what}`);
    }
    const { order, words, ngrams } = doc;
    try {
      if (typeof order !== 'number' || !Array.isArray(words) || words[UNK_ID] !== UNK || words[WORD_EOS_ID] !== WORD_EOS) throw new Error('no order or words');
      return new WordNgramLm(NgramTable.fromPacked(order, words.length, ngrams as PackedNgrams), words as string[]);
    } catch {
      throw new Error(`language model ${file} is corrupt or not a koe LM`);
    }
  }
}
