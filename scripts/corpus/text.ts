/**
 * Text side of the corpus builder: extract sentences from the offline text sources
 * (fortunes, World English Bible, WordNet usage examples, user files), clean and normalize them,
 * deduplicate, and split them into disjoint train / validation / test pools with a fixed seed.
 *
 * Every sentence keeps two forms:
 * - `speak`: what the TTS engine reads. It keeps sentence punctuation (, . ; : ! ?) for natural
 *   prosody, but has no quotes, brackets or dashes, and ALL-CAPS words are lowercased so that
 *   engines read them as words.
 * - `text`: the transcript, `normalizeTranscript(speak)` (lowercase a-z, space, apostrophe).
 *
 * Sentences whose spoken form is ambiguous are rejected rather than guessed: digits and symbols
 * (via `findUnsupportedChars`), abbreviations (mr, dr, etc, e.g.), initials, roman numerals, stray
 * single letters.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { findUnsupportedChars, normalizeTranscript } from '../../src/text/normalize.js';
import { makeRng, shuffleInPlace } from '../../src/util/rng.js';

const execFileP = promisify(execFile);

/** Built-in text sources. */
export const BUILTIN_SOURCES = ['fortunes', 'bible', 'wordnet'] as const;
export type BuiltinSource = (typeof BUILTIN_SOURCES)[number];

export interface Sentence {
  /** What the TTS engine reads. */
  speak: string;
  /** Normalized transcript (lowercase a-z, space, apostrophe). */
  text: string;
  /** Where it came from: a built-in source name, or `file:<basename>`. */
  source: string;
}

export interface CleanOptions {
  minWords: number;
  maxWords: number;
}

export const DEFAULT_CLEAN: CleanOptions = { minWords: 5, maxWords: 20 };

/** Where the installed Debian packages keep the sources (overridable for tests). */
export const SOURCE_PATHS = {
  fortunesDir: '/usr/share/games/fortunes',
  wordnetDir: '/usr/share/wordnet',
  swordModule: 'engWEB2015eb',
};

/** Fortune files that are not prose. */
const FORTUNE_SKIP = new Set(['ascii-art', 'art', 'translate-me']);

// ---------------------------------------------------------------------------------------------
// Sentence splitting and cleaning

/**
 * Split running text into sentences at `.`, `!` or `?` (plus closing quotes/brackets) followed by
 * white space and an uppercase letter (optionally behind opening quotes). Line breaks inside the
 * text are treated as spaces.
 */
export function splitSentences(paragraph: string): string[] {
  const t = paragraph.replace(/\s+/g, ' ').trim();
  if (t === '') return [];
  const out: string[] = [];
  const re = /([.!?]+["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018([]*[A-Z])/g;
  let start = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    const end = m.index + (m[1] as string).length;
    out.push(t.slice(start, end).trim());
    start = re.lastIndex;
  }
  const rest = t.slice(start).trim();
  if (rest !== '') out.push(rest);
  return out;
}

/** Characters a raw sentence may contain: ASCII letters, white space and plain punctuation. */
const ALLOWED_RAW = /^[A-Za-z\s'"\u2018\u2019\u201c\u201d.,;:!?()\-\u2010\u2013\u2014\u2026]*$/;

/** Transcript words that are abbreviations: the TTS would expand them, the transcript would not. */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'messrs', 'dr', 'st', 'jr', 'sr', 'prof', 'vs', 'etc', 'viz', 'cf', 'eg', 'ie',
  'ibid', 'approx', 'esq', 'ltd', 'inc', 'corp', 'dept', 'govt', 'capt', 'lt', 'sgt', 'col', 'gen',
  'rev', 'hon', 'nd', 'rd', 'th',
]);

/** Single-letter words that are real words. */
const SINGLE_LETTER_WORDS = new Set(['a', 'i', 'o']);

const ROMAN = /^(?=[MDCLXVI]{2,}$)M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$/;

/**
 * Clean one raw sentence. Returns `null` when it must be rejected (unsupported characters,
 * abbreviations, initials, roman numerals, stray letters, too few or too many words).
 */
export function cleanSentence(raw: string, opts: CleanOptions = DEFAULT_CLEAN): { speak: string; text: string } | null {
  let s = raw.replace(/\s+/g, ' ').trim();
  if (s === '' || !ALLOWED_RAW.test(s)) return null;
  // Initials ("J. R. Smith"), abbreviation dots inside words ("e.g."): ambiguous when spoken.
  if (/(^|\s)[A-Za-z]\.(\s|$)/.test(s.replace(/(^|\s)[AaIiOo]\.$/, '')) || /[A-Za-z]\.[A-Za-z]/.test(s)) return null;
  for (const tok of s.split(' ')) {
    const word = tok.replace(/^[^A-Za-z]+|[^A-Za-z]+$/g, '');
    if (ROMAN.test(word)) return null;
  }
  // The spoken form: straight apostrophes; no quotes or brackets; dashes become pauses or spaces.
  s = s
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/["\u201c\u201d()]/g, ' ')
    .replace(/\s*(--+|\u2014|\u2013)\s*/g, ', ')
    .replace(/(?<=[A-Za-z])[-\u2010](?=[A-Za-z])/g, ' ')
    .replace(/[-\u2010]/g, ' ')
    .replace(/\u2026/g, '...')
    // An apostrophe is kept only inside a word (as normalizeTranscript does).
    .replace(/(?<![A-Za-z])'|'(?![A-Za-z])/g, ' ')
    // ALL-CAPS words are read as words, not spelled (the pronoun I is left alone).
    .replace(/\b[A-Z][A-Z']+\b/g, (w) => w.toLowerCase())
    .replace(/\s+([,.;:!?])/g, '$1')
    .replace(/([,;:])(?:\s*[,;:])+/g, '$1')
    .replace(/\s+/g, ' ')
    .replace(/^[\s,.;:!?]+/, '')
    .replace(/[\s,;:]+$/, '.')
    .trim();
  const text = normalizeTranscript(s);
  if (text === '' || findUnsupportedChars(text).length > 0) return null;
  const words = text.split(' ');
  if (words.length < opts.minWords || words.length > opts.maxWords) return null;
  for (const w of words) {
    if (ABBREVIATIONS.has(w)) return null;
    if (w.length === 1 && !SINGLE_LETTER_WORDS.has(w)) return null;
    if (w.length > 24) return null;
  }
  return { speak: s, text };
}

// ---------------------------------------------------------------------------------------------
// Sources

/** Raw sentences of the fortune files: entries split on `%` lines, attributions dropped. */
export async function fortuneSentences(dir = SOURCE_PATHS.fortunesDir): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => !n.includes('.') && !FORTUNE_SKIP.has(n)).sort();
  const out: string[] = [];
  for (const name of names) {
    const content = await readFile(path.join(dir, name), 'utf8').catch(() => '');
    // Overstriking (x BACKSPACE x, _ BACKSPACE x) is terminal bold/underline.
    const plain = content.replace(/[^\n]\x08/g, '');
    for (const entry of plain.split(/^%\s*$/m)) {
      const lines = entry.split('\n');
      // Dialogues ("Q: ... A: ...", "Kirk: ...") are skipped whole.
      if (lines.filter((l) => /^\s*[A-Z][A-Za-z]*:\s/.test(l)).length >= 2) continue;
      // An attribution ("\t\t-- Mark Twain") ends the quote: it and the lines after it are dropped.
      const attribution = lines.findIndex((l) => /^\s*(--|\u2014)/.test(l));
      const kept = attribution >= 0 ? lines.slice(0, attribution) : lines;
      for (const para of kept.join('\n').split(/\n\s*\n/)) out.push(...splitSentences(para));
    }
  }
  return out;
}

/** Strip OSIS markup from one verse of the SWORD module's `mod2imp` export. */
export function stripOsis(xml: string): string {
  return xml
    .replace(/<note\b[^>]*>[\s\S]*?<\/note>/g, ' ')
    .replace(/<title\b[^>]*>[\s\S]*?<\/title>/g, ' ')
    .replace(/<\/?w\b[^>]*>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'");
}

/** Raw sentences of the World English Bible: verse text joined per chapter, then split. */
export async function bibleSentences(module = SOURCE_PATHS.swordModule): Promise<string[]> {
  const { stdout } = await execFileP('mod2imp', [module], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  const chapters = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of stdout.split('\n')) {
    const head = /^\$\$\$(.+?) (\d+):(\d+)\s*$/.exec(line);
    if (head) {
      const key = `${head[1]} ${head[2]}`;
      current = chapters.get(key) ?? [];
      chapters.set(key, current);
      continue;
    }
    if (line.startsWith('$$$')) {
      current = null;
      continue;
    }
    if (current) current.push(stripOsis(line));
  }
  const out: string[] = [];
  for (const verses of chapters.values()) out.push(...splitSentences(verses.join(' ')));
  return out;
}

/** Raw sentences of the WordNet usage examples (the quoted parts of the glosses). */
export async function wordnetSentences(dir = SOURCE_PATHS.wordnetDir): Promise<string[]> {
  const out: string[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    const content = await readFile(path.join(dir, `data.${pos}`), 'utf8');
    for (const line of content.split('\n')) {
      if (line.startsWith('  ')) continue; // license header
      const bar = line.indexOf(' | ');
      if (bar < 0) continue;
      const gloss = line.slice(bar + 3);
      for (const m of gloss.matchAll(/"([^"]+)"/g)) out.push(...splitSentences(m[1] as string));
    }
  }
  return out;
}

/**
 * Raw sentences of a user text file. `mode` `line`: every non-empty line is a unit (possibly with
 * several sentences); `paragraph`: blank-line separated paragraphs of wrapped prose.
 */
export async function fileSentences(file: string, mode: 'line' | 'paragraph' = 'line'): Promise<string[]> {
  const content = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const units = mode === 'line' ? content.split('\n') : content.split(/\n\s*\n/);
  return units.flatMap((u) => splitSentences(u));
}

export interface SourceSpec {
  builtins: BuiltinSource[];
  files: string[];
  fileMode: 'line' | 'paragraph';
}

export interface ExtractStats {
  /** Per source: raw candidate sentences, accepted (clean), unique (after deduplication). */
  [source: string]: { raw: number; clean: number; unique: number };
}

/**
 * Extract, clean and deduplicate (on the transcript) the sentences of all sources, in the given
 * order; the first occurrence of a transcript wins.
 */
export async function extractSentences(
  spec: SourceSpec,
  clean: CleanOptions = DEFAULT_CLEAN,
): Promise<{ sentences: Sentence[]; stats: ExtractStats }> {
  const seen = new Set<string>();
  const sentences: Sentence[] = [];
  const stats: ExtractStats = {};
  const jobs: Array<[string, () => Promise<string[]>]> = [];
  for (const b of spec.builtins) {
    if (b === 'fortunes') jobs.push(['fortunes', () => fortuneSentences()]);
    else if (b === 'bible') jobs.push(['bible', () => bibleSentences()]);
    else if (b === 'wordnet') jobs.push(['wordnet', () => wordnetSentences()]);
  }
  for (const f of spec.files) jobs.push([`file:${path.basename(f)}`, () => fileSentences(f, spec.fileMode)]);
  for (const [name, load] of jobs) {
    const raw = await load();
    const st = { raw: raw.length, clean: 0, unique: 0 };
    const add = (c: { speak: string; text: string }): void => {
      st.clean++;
      if (seen.has(c.text)) return;
      seen.add(c.text);
      st.unique++;
      sentences.push({ ...c, source: name });
    };
    for (const r of raw) {
      const c = cleanSentence(r, clean);
      if (c) {
        add(c);
        continue;
      }
      // A sentence that is too long may still give clauses of the right length at ; and :
      if (/[;:]\s/.test(r) && normalizeTranscript(r).split(' ').length > clean.maxWords) {
        for (const part of r.split(/(?<=[;:])\s+/)) {
          const cp = cleanSentence(part, clean);
          if (cp) add(cp);
        }
      }
    }
    const prev = stats[name];
    stats[name] = prev ? { raw: prev.raw + st.raw, clean: prev.clean + st.clean, unique: prev.unique + st.unique } : st;
  }
  return { sentences, stats };
}

export interface SentencePools {
  train: Sentence[];
  valid: Sentence[];
  test: Sentence[];
}

/**
 * Split sentences into disjoint pools with a fixed seed. The validation and test pools get as many
 * sentences as utterances requested (one utterance per sentence), but together at most half of
 * all sentences (then they are scaled down and their utterances reuse sentences with other voices);
 * the training pool gets the rest. The result does not depend on the input order.
 */
export function splitPools(sentences: readonly Sentence[], validCount: number, testCount: number, seed: number): SentencePools {
  const sorted = [...sentences].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  shuffleInPlace(sorted, makeRng(seed ^ 0x5eed));
  const n = sorted.length;
  let v = validCount;
  let t = testCount;
  const cap = Math.floor(n / 2);
  if (v + t > cap) {
    const scale = cap / (v + t);
    v = validCount > 0 ? Math.max(1, Math.floor(validCount * scale)) : 0;
    t = testCount > 0 ? Math.max(1, Math.floor(testCount * scale)) : 0;
  }
  if (v + t >= n && n > 0) throw new Error(`only ${n} sentences: too few to split into train, validation and test`);
  return { valid: sorted.slice(0, v), test: sorted.slice(v, v + t), train: sorted.slice(v + t) };
}
