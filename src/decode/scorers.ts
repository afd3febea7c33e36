/**
 * Extra scores that beam search adds to the acoustic model's log-probabilities:
 * shallow fusion with a character language model, and hot-word boosting.
 */
import type { CharNgramLm } from '../lm/char-ngram.js';
import { LM_EOS } from '../lm/char-ngram.js';
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
