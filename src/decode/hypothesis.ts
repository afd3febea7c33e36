/** What decoding returns for one utterance. */
export interface Hypothesis {
  text: string;
  /** Character ids, end symbol excluded. */
  ids: number[];
  /** Sum of log-probabilities of the characters and the end symbol. */
  logProb: number;
  /** Score used for ranking (length-normalized for beam search). */
  score: number;
  /** exp(mean log-probability per symbol): 1 = certain. */
  confidence: number;
  /** Per emitted character: log-probability and attention weights over encoder steps. */
  charLogProbs: number[];
  alignments: Float32Array[];
  /** Whether the end symbol was produced (false: cut at the maximum length). */
  finished: boolean;
}

/** Which head decodes: the attention decoder (the model's output), or best-path CTC (models with a CTC head). */
export type DecoderKind = 'attention' | 'ctc';

export interface DecodeOptions {
  decoder: DecoderKind;
  /** Beam width; 1 = greedy. */
  beam: number;
  /** Beam search: scores are divided by length^lengthPenalty (0 = raw log-probability). */
  lengthPenalty: number;
  /** Hard limit on characters per utterance; default from the audio duration. */
  maxLength?: number;
  /** Keep attention weights per character (for word times and plots). */
  keepAlignments: boolean;
  /** How many hypotheses to return (beam search). */
  nbest: number;
  /** Shallow-fusion weight of the character language model (0 = off). */
  lmWeight: number;
  /** Score added per character when the language model is used. */
  lengthBonus: number;
  /** Shallow-fusion weight of the word language model (0 = off). */
  wordLmWeight: number;
  /** Score taken once from a word that is not in the word LM's vocabulary. */
  oovPenalty: number;
  /** Score added per word when the word language model is used. */
  wordBonus: number;
  /** Words to favour (names, jargon). */
  hotwords: string[];
  /** Score per matching character of a hot word. */
  hotwordBoost: number;
  /**
   * Beam search with a model that has a CTC head: weight of its prefix score (joint
   * CTC-attention decoding); 0 = attention only. Ignored for models without a CTC head.
   */
  ctcWeight: number;
}

export const DEFAULT_DECODE_OPTIONS: DecodeOptions = {
  decoder: 'attention',
  beam: 1,
  lengthPenalty: 1,
  keepAlignments: false,
  nbest: 1,
  lmWeight: 0.3,
  lengthBonus: 0.5,
  wordLmWeight: 0.3,
  oovPenalty: 2,
  wordBonus: 0,
  hotwords: [],
  hotwordBoost: 2,
  ctcWeight: 0.3,
};

/** Characters allowed for an utterance of `frames` 10 ms frames: 25 per second plus slack. */
export function defaultMaxLength(frames: number): number {
  return Math.ceil((frames / 100) * 25) + 10;
}

export function confidenceOf(logProb: number, symbols: number): number {
  return Math.exp(logProb / Math.max(1, symbols));
}
