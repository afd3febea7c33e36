/**
 * CTC prefix scoring for joint CTC-attention beam search (Watanabe et al. 2017, "Hybrid
 * CTC/attention architecture", Algorithm 2). A hypothesis's state holds the CTC forward
 * variables of its prefix over every frame (ending in a character / in a blank); extending it
 * by one character costs one pass over the frames. The score a character adds is the change
 * in log p_ctc(prefix...), and the end symbol adds log p_ctc(whole text) - log p_ctc(prefix...),
 * so the sum of the scores along a finished hypothesis is exactly weight * log p_ctc(text).
 *
 * The CTC head sees the whole utterance at once and is monotonic, so it penalizes what
 * attention decoders get wrong on their own: skipped or repeated words and early ends.
 */
import { CTC_BLANK, logAdd } from '../model/ctc.js';
import { EOS } from '../model/vocab.js';
import type { BeamScorer } from './scorers.js';

export interface CtcPrefixState {
  /** log P(prefix, frames 0..t, ending in a character), per frame. */
  nonBlank: Float64Array;
  /** log P(prefix, frames 0..t, ending in a blank), per frame. */
  blank: Float64Array;
  /** log p_ctc(prefix...): the prefix followed by anything. */
  prefixScore: number;
  /** Last character id (-1 for the empty prefix). */
  last: number;
}

/**
 * `logProbs`: the CTC head's log-softmax for one utterance, [frames, vocab] row-major.
 * Extending by a character id adds `weight` x the prefix-score change; EOS adds `weight` x
 * (log p_ctc(text) - prefix score).
 */
export function ctcPrefixScorer(logProbs: Float32Array, frames: number, vocab: number, weight: number, blank = CTC_BLANK): BeamScorer<CtcPrefixState> {
  if (logProbs.length !== frames * vocab) throw new Error(`CTC log-probabilities hold ${logProbs.length} values, expected ${frames}x${vocab}`);
  const y = (t: number, k: number): number => logProbs[t * vocab + k] as number;
  return {
    initial: () => {
      const blankRun = new Float64Array(frames);
      let sum = 0;
      for (let t = 0; t < frames; t++) blankRun[t] = sum += y(t, blank);
      return { nonBlank: new Float64Array(frames).fill(-Infinity), blank: blankRun, prefixScore: 0, last: -1 };
    },
    extend: (g, symbol) => {
      if (symbol === EOS) {
        const full = frames > 0 ? logAdd(g.nonBlank[frames - 1] as number, g.blank[frames - 1] as number) : g.last < 0 ? 0 : -Infinity;
        return { score: full === -Infinity ? -Infinity : weight * (full - g.prefixScore), state: g };
      }
      const nonBlank = new Float64Array(frames).fill(-Infinity);
      const blankEnd = new Float64Array(frames).fill(-Infinity);
      if (frames === 0) return { score: -Infinity, state: { nonBlank, blank: blankEnd, prefixScore: -Infinity, last: symbol } };
      // phi[t]: probability mass from which `symbol` may start a new character at t + 1.
      const phi = (t: number): number => (symbol === g.last ? (g.blank[t] as number) : logAdd(g.blank[t] as number, g.nonBlank[t] as number));
      if (g.last < 0) nonBlank[0] = y(0, symbol);
      let prefixScore = nonBlank[0] as number;
      for (let t = 1; t < frames; t++) {
        const start = phi(t - 1);
        nonBlank[t] = logAdd(nonBlank[t - 1] as number, start) + y(t, symbol);
        blankEnd[t] = logAdd(blankEnd[t - 1] as number, nonBlank[t - 1] as number) + y(t, blank);
        prefixScore = logAdd(prefixScore, start + y(t, symbol));
      }
      const score = prefixScore === -Infinity ? -Infinity : weight * (prefixScore - g.prefixScore);
      return { score, state: { nonBlank, blank: blankEnd, prefixScore, last: symbol } };
    },
  };
}
