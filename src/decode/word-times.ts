/**
 * Word start and end times from the attention alignment: each character's position is
 * the attention-weighted mean encoder step (more stable than the peak), times the
 * encoder's frame duration (10 ms x time reduction).
 */
import type { Hypothesis } from './hypothesis.js';

export interface WordTime {
  word: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  /** exp(mean log-probability of the word's characters). */
  confidence: number;
}

/** Attention-weighted mean position (in encoder steps) of one alignment row. */
function centroid(weights: Float32Array): number {
  let sum = 0;
  let mass = 0;
  for (let t = 0; t < weights.length; t++) {
    sum += t * (weights[t] as number);
    mass += weights[t] as number;
  }
  return mass > 0 ? sum / mass : 0;
}

/**
 * `stepSeconds`: seconds per encoder step (0.01 * timeReduction). The hypothesis must have
 * been decoded with keepAlignments. Word i spans from its first character's position to
 * its last one's, plus one step; times never decrease and stay within `duration`.
 */
export function wordTimes(h: Hypothesis, stepSeconds: number, duration: number): WordTime[] {
  if (h.alignments.length !== h.text.length) throw new Error('word times need a hypothesis decoded with keepAlignments');
  const positions = h.alignments.map((a) => centroid(a) * stepSeconds);
  const words: WordTime[] = [];
  let i = 0;
  let floor = 0;
  while (i < h.text.length) {
    if (h.text[i] === ' ') {
      i++;
      continue;
    }
    let j = i;
    while (j < h.text.length && h.text[j] !== ' ') j++;
    const start = Math.min(duration, Math.max(floor, positions[i] as number));
    const end = Math.min(duration, Math.max(start, (positions[j - 1] as number) + stepSeconds));
    const lp = h.charLogProbs.slice(i, j);
    words.push({ word: h.text.slice(i, j), start, end, confidence: Math.exp(lp.reduce((a, b) => a + b, 0) / Math.max(1, lp.length)) });
    floor = start;
    i = j;
  }
  return words;
}
