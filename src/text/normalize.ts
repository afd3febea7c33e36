/**
 * Transcript text convention for koe: lowercase `a`-`z`, space and apostrophe only.
 *
 * Canonical form (what {@link isNormalizedText} accepts): words made of `a`-`z`, apostrophes only
 * inside a word (between two letters, e.g. `don't`, `rock'n'roll`), words separated by exactly one
 * space, no leading or trailing space. The empty string is a valid (empty) transcript.
 *
 * {@link normalizeTranscript} maps free text towards that form. It does NOT verbalize anything:
 * digits, accented or non-Latin letters, and symbols that are normally read aloud are left in place
 * (lowercased) so that {@link findUnsupportedChars} can report them and the caller can reject the
 * utterance or warn. Silently dropping "3" or "&" would change what was said.
 */

export interface NormalizeOptions {
  /**
   * Fold accented Latin letters to ASCII (`café` -> `cafe`, `straße` -> `strasse`, `æ` -> `ae`).
   * Default false: accented letters are kept and reported by {@link findUnsupportedChars}.
   */
  foldAccents?: boolean;
}

/** Characters that are apostrophes or single quotes in practice; all become `'`. */
const APOSTROPHE_LIKE = /[\u2018\u2019\u201A\u201B\u2032\u2035\u02B9\u02BB\u02BC\u02BD\u0060\u00B4\uFF07]/g;

/** Dash punctuation (hyphen-minus, hyphen, en/em dash, ...) and the minus sign: all become a space. */
const DASHES = /[\p{Pd}\u2212\u2043]/gu;

/** Invisible format characters (soft hyphen, zero-width space/joiners, BOM): removed. */
const FORMAT_CHARS = /\p{Cf}/gu;

/** Whitespace and control characters: become a space. */
const SPACE_LIKE = /[\s\p{Cc}]+/gu;

/**
 * A period between two letters is an abbreviation dot (`u.s.a`, `e.g`): removed, joining the letters.
 * Lookarounds keep overlapping matches (`u.s.a`) working.
 */
const ABBREVIATION_DOT = /(?<=\p{L})\.(?=\p{L})/gu;

/**
 * Symbols that are normally read aloud (`&` "and", `%` "percent", `$` "dollars", ...). They are
 * kept, like digits, so that {@link findUnsupportedChars} flags the text for verbalization.
 */
const SPOKEN_SYMBOL = /[&@#%+=<>°±×÷\p{Sc}]/u;

/** Any other punctuation or symbol. */
const PUNCT_OR_SYMBOL = /[\p{P}\p{S}]/gu;

/** An apostrophe that is not between two word characters (a quote mark, or word-leading/trailing). */
const NON_WORD_APOSTROPHE = /(?<![\p{L}\p{M}\p{N}])'|'(?![\p{L}\p{M}\p{N}])/gu;

/** Latin letters that Unicode decomposition does not fold to ASCII. */
const EXTRA_FOLDS: Record<string, string> = {
  ß: 'ss',
  ẞ: 'ss',
  æ: 'ae',
  Æ: 'ae',
  œ: 'oe',
  Œ: 'oe',
  ø: 'o',
  Ø: 'o',
  ł: 'l',
  Ł: 'l',
  đ: 'd',
  Đ: 'd',
  ð: 'd',
  Ð: 'd',
  þ: 'th',
  Þ: 'th',
  ı: 'i',
};
const EXTRA_FOLD_RE = new RegExp(`[${Object.keys(EXTRA_FOLDS).join('')}]`, 'gu');

function foldAccents(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(EXTRA_FOLD_RE, (c) => EXTRA_FOLDS[c] ?? c)
    .normalize('NFC');
}

/**
 * Normalize a transcript to the project convention (see the module comment). Steps, in order:
 *
 * 1. Apostrophe look-alikes (curly single quotes, backtick, acute accent, modifier letters) -> `'`;
 *    Unicode NFKC (full-width letters, ligatures and `…` become plain characters); optional accent folding.
 * 2. Lowercase (locale-independent).
 * 3. Format characters (soft hyphen, zero-width space, BOM) are removed; whitespace and control
 *    characters become spaces; hyphens and dashes become spaces (`well-known` -> `well known`).
 * 4. A `.` between two letters is removed (`u.s.a.` -> `usa`); any other punctuation or symbol
 *    (`, . ; : ! ? " ( ) [ ] / _ * …`, curly double quotes, emoji) becomes a space, except the
 *    spoken symbols `& @ # % + = < > ° ± × ÷` and currency signs, which are kept (unsupported).
 * 5. An apostrophe is kept only between two word characters (`don't`, `o'clock`); quote-apostrophes
 *    around words are dropped (`'quoted'` -> `quoted`, `dogs'` -> `dogs`, `'cause` -> `cause`).
 * 6. Runs of spaces collapse to one; the result is trimmed.
 *
 * Digits and letters outside `a`-`z` survive (lowercased); check with {@link findUnsupportedChars}.
 * The function is idempotent: `normalizeTranscript(normalizeTranscript(s)) === normalizeTranscript(s)`.
 */
export function normalizeTranscript(s: string, options: NormalizeOptions = {}): string {
  let t = s.replace(APOSTROPHE_LIKE, "'").normalize('NFKC').replace(APOSTROPHE_LIKE, "'");
  if (options.foldAccents) t = foldAccents(t);
  t = t.toLowerCase();
  t = t.replace(FORMAT_CHARS, '').replace(SPACE_LIKE, ' ').replace(DASHES, ' ');
  t = t.replace(ABBREVIATION_DOT, '');
  t = t.replace(PUNCT_OR_SYMBOL, (c) => (c === "'" || SPOKEN_SYMBOL.test(c) ? c : ' '));
  t = t.replace(NON_WORD_APOSTROPHE, ' ');
  return t.replace(/ {2,}/g, ' ').trim();
}

const CANONICAL = /^(?:[a-z]+(?:'[a-z]+)*(?: [a-z]+(?:'[a-z]+)*)*)?$/;

/**
 * True when `s` is already in canonical form: only `a`-`z`, single spaces between words, apostrophes
 * only inside words, no leading/trailing space. The empty string counts as normalized.
 */
export function isNormalizedText(s: string): boolean {
  return CANONICAL.test(s);
}

/**
 * The distinct characters of `s` outside the alphabet `a`-`z`, space and `'`, in order of first
 * occurrence (whole code points, so astral characters come back intact). Meant to be called on
 * normalized text, where what remains is digits, accented or non-Latin letters and spoken symbols;
 * on raw text it also reports uppercase letters and punctuation.
 */
export function findUnsupportedChars(s: string): string[] {
  const seen = new Set<string>();
  for (const c of s) {
    if ((c >= 'a' && c <= 'z') || c === ' ' || c === "'") continue;
    seen.add(c);
  }
  return [...seen];
}
