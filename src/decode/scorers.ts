/**
 * Extra scores that beam search adds to the acoustic model's log-probabilities:
 * shallow fusion with a character and a word language model, and hot-word boosting.
 */
import type { CharNgramLm } from '../lm/char-ngram.js';
import { LM_EOS } from '../lm/char-ngram.js';
import { UNK_ID, WORD_EOS_ID, type WordNgramLm } from '../lm/word-ngram.js';
import { EOS, type Vocabulary } from '../model/vocab.js';

export interface BeamScorer<S = unknown> {
  initial(): S;
  /** Score added when `symbol` (a vocabulary id; EOS ends the sentence) extends a hypothesis in state `state`. */
  extend(state: S, symbol: number): { score: number; state: S };
}

/**
 * Shallow fusion: score += weight * log P_lm(c | text so far) + lengthBonus per character.
 * The bonus offsets the LM's pull toward short outputs (Chorowski & Jaitly 2016).
 */
export function lmScorer(lm: CharNgramLm, vocab: Vocabulary, weight: number, lengthBonus: number): BeamScorer<string> {
  return {
    initial: () => '',
    extend: (text, symbol) => {
      if (symbol === EOS) return { score: weight * lm.logProb(text, LM_EOS), state: text };
      const c = vocab.symbols[symbol] as string;
      return { score: weight * lm.logProb(text, c) + lengthBonus, state: text + c };
    },
  };
}

export interface WordLmState {
  /** The previous words, as the word LM's history. */
  history: readonly number[];
  /** Characters of the word being spelled. */
  word: string;
  /** Whether `word` is already known to be out of the vocabulary (its penalty paid). */
  oov: boolean;
}

/**
 * Shallow fusion with a word LM: at each word end (a space, or the end of the sentence) score +=
 * weight * log P_lm(word | previous words) + wordBonus, and at the end of the sentence also
 * weight * log P_lm(</s> | words). A word out of the LM's vocabulary scores as `<unk>` and costs
 * `oovPenalty` once: at the first character after which it is a prefix of no known word, or, for
 * a word that is only a prefix of known words, at its end. One prefix lookup per character.
 */
export function wordLmScorer(lm: WordNgramLm, vocab: Vocabulary, weight: number, oovPenalty: number, wordBonus: number): BeamScorer<WordLmState> {
  /** The score of ending the word in `s`, and the history after it (an empty word: nothing). */
  const endWord = (s: WordLmState): { score: number; history: readonly number[] } => {
    if (s.word === '') return { score: 0, history: s.history };
    const id = s.oov ? UNK_ID : lm.id(s.word);
    const penalty = id === UNK_ID && !s.oov ? oovPenalty : 0;
    return { score: weight * lm.logProb(s.history, id) + wordBonus - penalty, history: lm.next(s.history, id) };
  };
  return {
    initial: () => ({ history: lm.start, word: '', oov: false }),
    extend: (s, symbol) => {
      const c = vocab.symbols[symbol] as string;
      if (symbol === EOS || c === ' ') {
        const { score, history } = endWord(s);
        const end = symbol === EOS ? weight * lm.logProb(history, WORD_EOS_ID) : 0;
        return { score: score + end, state: { history, word: '', oov: false } };
      }
      const word = s.word + c;
      if (s.oov || lm.isPrefix(word)) return { score: 0, state: { history: s.history, word, oov: s.oov } };
      return { score: -oovPenalty, state: { history: s.history, word, oov: true } };
    },
  };
}

interface HotwordState {
  /** Characters of the word being spelled. */
  word: string;
  /** Boost given to it so far (taken back if it stops matching a hot word). */
  given: number;
}

/**
 * Hot words: each character that keeps the current word a prefix of a hot word earns
 * `boost`; when the word stops matching, or ends without being a whole hot word, the
 * boost it earned is taken back. Only completed hot words keep their bonus.
 */
export function hotwordScorer(hotwords: readonly string[], vocab: Vocabulary, boost: number): BeamScorer<HotwordState> {
  const words = new Set(hotwords.map((w) => w.trim().toLowerCase()).filter(Boolean));
  const prefixes = new Set<string>();
  for (const w of words) for (let i = 1; i <= w.length; i++) prefixes.add(w.slice(0, i));
  return {
    initial: () => ({ word: '', given: 0 }),
    extend: (s, symbol) => {
      const c = symbol === EOS ? ' ' : (vocab.symbols[symbol] as string);
      if (c === ' ') {
        // Word boundary: keep the boost only for a whole hot word.
        return { score: words.has(s.word) ? 0 : -s.given, state: { word: '', given: 0 } };
      }
      const word = s.word + c;
      if (prefixes.has(word) && (s.given > 0 || s.word === '')) return { score: boost, state: { word, given: s.given + boost } };
      return { score: -s.given, state: { word, given: 0 } };
    },
  };
}
