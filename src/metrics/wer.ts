/**
 * Word and character error rates.
 *
 * Inputs are compared exactly as given, after tokenization; normalize both sides first
 * (see `normalizeTranscript` in src/text/normalize.ts) so case and punctuation do not count as errors.
 *
 * - Words: the text split on runs of whitespace (leading/trailing whitespace ignored).
 * - Characters: the Unicode code points of the words joined by single spaces, i.e. CER counts the
 *   spaces between words (the common convention of jiwer, NeMo and ESPnet) but not stray extra
 *   or leading/trailing whitespace. `"a b"` has 3 reference characters.
 *
 * Rates: sum of `sub + del + ins` divided by the sum of reference lengths, with the denominator
 * raised to at least 1. So an empty reference and empty hypothesis give rate 0; an empty
 * reference with k hypothesis tokens gives k insertions and rate k (not Infinity or NaN, which
 * would not survive JSON). Over a corpus the denominator is the total reference length, so the
 * rule only bites when every reference is empty.
 */
import { alignCounts, alignTokens, type AlignOp, type AlignOptions, type Alignment } from './align.js';

export interface ErrorCounts {
  sub: number;
  del: number;
  ins: number;
  hits: number;
  /** Reference length in tokens (words or characters); equals `hits + sub + del`. */
  refLength: number;
}

/** Split on whitespace; empty or blank text gives no words. */
export function splitWords(s: string): string[] {
  const t = s.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/** Code points of the words joined by single spaces (the CER token sequence). */
export function splitChars(s: string): string[] {
  return Array.from(splitWords(s).join(' '));
}

function toErrorCounts(c: { hits: number; sub: number; del: number; ins: number }): ErrorCounts {
  return { sub: c.sub, del: c.del, ins: c.ins, hits: c.hits, refLength: c.hits + c.sub + c.del };
}

/** Word-level error counts of one utterance. */
export function wordErrors(ref: string, hyp: string, options?: AlignOptions): ErrorCounts {
  return toErrorCounts(alignCounts(splitWords(ref), splitWords(hyp), options));
}

/** Character-level error counts of one utterance (spaces between words count; see module comment). */
export function charErrors(ref: string, hyp: string, options?: AlignOptions): ErrorCounts {
  return toErrorCounts(alignCounts(splitChars(ref), splitChars(hyp), options));
}

/** Word alignment with operations, for display ({@link formatAlignment}). */
export function alignWords(ref: string, hyp: string, options?: AlignOptions): Alignment<string> {
  return alignTokens(splitWords(ref), splitWords(hyp), options);
}

/** Character alignment with operations, for display ({@link formatAlignment}). */
export function alignChars(ref: string, hyp: string, options?: AlignOptions): Alignment<string> {
  return alignTokens(splitChars(ref), splitChars(hyp), options);
}

/** Total edits `sub + del + ins`. */
export function errorCount(c: ErrorCounts): number {
  return c.sub + c.del + c.ins;
}

/** Edits divided by `max(1, refLength)` (see the module comment for why not Infinity). */
export function errorRate(c: ErrorCounts): number {
  return errorCount(c) / Math.max(1, c.refLength);
}

function zeroCounts(): ErrorCounts {
  return { sub: 0, del: 0, ins: 0, hits: 0, refLength: 0 };
}

function addInto(total: ErrorCounts, c: ErrorCounts): void {
  total.sub += c.sub;
  total.del += c.del;
  total.ins += c.ins;
  total.hits += c.hits;
  total.refLength += c.refLength;
}

/** Per-utterance result of {@link ErrorAccumulator.add}. */
export interface UtteranceErrors {
  word: ErrorCounts;
  char: ErrorCounts;
}

/**
 * Sums word and character errors over utterances. `wer`/`cer` are corpus-level rates
 * (total edits / total reference length), not averages of per-utterance rates.
 */
export class ErrorAccumulator {
  /** Summed word-level counts. */
  readonly word: ErrorCounts = zeroCounts();
  /** Summed character-level counts. */
  readonly char: ErrorCounts = zeroCounts();
  private utterances = 0;

  /** `options.prefer` picks how tied alignments split into error types (see align.ts). */
  constructor(private readonly options: AlignOptions = {}) {}

  /** Score one utterance and add it; returns that utterance's own counts. */
  add(ref: string, hyp: string): UtteranceErrors {
    const result = { word: wordErrors(ref, hyp, this.options), char: charErrors(ref, hyp, this.options) };
    this.addCounts(result.word, result.char);
    return result;
  }

  /** Add counts computed elsewhere (e.g. merged from worker processes). */
  addCounts(word: ErrorCounts, char: ErrorCounts): void {
    addInto(this.word, word);
    addInto(this.char, char);
    this.utterances++;
  }

  /** Merge another accumulator into this one. */
  merge(other: ErrorAccumulator): void {
    addInto(this.word, other.word);
    addInto(this.char, other.char);
    this.utterances += other.utterances;
  }

  /** Word error rate: word edits / max(1, reference words). */
  get wer(): number {
    return errorRate(this.word);
  }
  /** Character error rate: character edits / max(1, reference characters). */
  get cer(): number {
    return errorRate(this.char);
  }
  /** Word substitutions. */
  get sub(): number {
    return this.word.sub;
  }
  /** Word deletions. */
  get del(): number {
    return this.word.del;
  }
  /** Word insertions. */
  get ins(): number {
    return this.word.ins;
  }
  /** Word hits. */
  get hits(): number {
    return this.word.hits;
  }
  /** Reference words. */
  get words(): number {
    return this.word.refLength;
  }
  /** Reference characters. */
  get chars(): number {
    return this.char.refLength;
  }
  /** Utterances added. */
  get utts(): number {
    return this.utterances;
  }

  /** The shape of `koe eval --json` (without `rtf`, which the caller knows). */
  summary(): { wer: number; cer: number; sub: number; del: number; ins: number; words: number; utts: number } {
    return {
      wer: this.wer,
      cer: this.cer,
      sub: this.sub,
      del: this.del,
      ins: this.ins,
      words: this.words,
      utts: this.utts,
    };
  }
}

export interface FormatAlignmentOptions {
  /** Write wrong tokens in uppercase, correct ones as they are (sclite style). Default true. */
  upperCaseErrors?: boolean;
  /** Wrap into blocks of at most this many characters per line (0: no wrapping). Default 0. */
  lineWidth?: number;
  /** How a token consisting of whitespace (a space in a character alignment) is shown. Default `_`. */
  space?: string;
}

/**
 * sclite "pralign"-style display of an alignment:
 *
 * ```
 * REF: THE cat SAT on the *** mat
 * HYP: *** cat SIT on the BIG mat
 * EVA: D       S          I
 * ```
 *
 * Columns are left-aligned and padded to the wider of the two tokens; stars (at least `***`, as wide
 * as the column) fill the missing side of a deletion or insertion; the EVA line marks S
 * (substitution), D (deletion) or I (insertion) under each column. Wrong tokens are uppercased.
 * With `lineWidth`, the three lines wrap together into blocks separated by a blank line.
 * Lines have no trailing spaces; the result has no final newline.
 */
export function formatAlignment(ops: readonly AlignOp<unknown>[], options: FormatAlignmentOptions = {}): string {
  const upper = options.upperCaseErrors ?? true;
  const lineWidth = options.lineWidth ?? 0;
  const space = options.space ?? '_';
  const show = (t: unknown, error: boolean): string => {
    let s = String(t);
    if (s.trim() === '') s = space;
    return error && upper ? s.toUpperCase() : s;
  };
  const len = (s: string): number => Array.from(s).length;
  const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - len(s)));

  interface Column {
    ref: string;
    hyp: string;
    eva: string;
  }
  const columns: Column[] = ops.map((o) => {
    const error = o.op !== 'ok';
    const ref = o.op === 'ins' ? null : show(o.ref, error);
    const hyp = o.op === 'del' ? null : show(o.hyp, error);
    const width = Math.max(ref === null ? 3 : len(ref), hyp === null ? 3 : len(hyp));
    const mark = o.op === 'sub' ? 'S' : o.op === 'del' ? 'D' : o.op === 'ins' ? 'I' : '';
    return {
      ref: ref === null ? '*'.repeat(width) : pad(ref, width),
      hyp: hyp === null ? '*'.repeat(width) : pad(hyp, width),
      eva: pad(mark, width),
    };
  });

  const labels = ['REF:', 'HYP:', 'EVA:'] as const;
  const blocks: string[] = [];
  let line: Column[] = [];
  let used = 4;
  const flush = (): void => {
    const rows = (['ref', 'hyp', 'eva'] as const).map((key, r) =>
      [labels[r], ...line.map((c) => c[key])].join(' ').trimEnd(),
    );
    blocks.push(rows.join('\n'));
    line = [];
    used = 4;
  };
  for (const c of columns) {
    const w = len(c.ref) + 1;
    if (lineWidth > 0 && line.length > 0 && used + w > lineWidth) flush();
    line.push(c);
    used += w;
  }
  if (line.length > 0 || blocks.length === 0) flush();
  return blocks.join('\n\n');
}
