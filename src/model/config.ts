/** Architecture of the attention seq2seq model. Saved with every model directory. */
export type AttentionKind = 'additive' | 'location';

export interface ModelConfig {
  /** Feature dimension per frame (39 for MFCC + deltas + delta-deltas). */
  inputDim: number;
  /** Number of bidirectional LSTM layers in the encoder. */
  encoderLayers: number;
  /** LSTM units per direction in each encoder layer. */
  encoderUnits: number;
  /**
   * Total time reduction of the pyramidal encoder: 1, 2, 4 or 8. Each halving joins
   * neighbouring frame pairs at the input of one of the first log2(timeReduction) layers.
   */
  timeReduction: number;
  attention: AttentionKind;
  /** Width of the attention's hidden layer. */
  attentionDim: number;
  /** Width of the location filter over the previous attention weights (odd). */
  locationKernel: number;
  /** LSTM units of the character decoder. */
  decoderUnits: number;
  /** Size of the output projection layer before the softmax. */
  outputDim: number;
  /** Number of output symbols (from the vocabulary). */
  vocabSize: number;
  /**
   * Encoder layer (0-based) whose output feeds a CTC head for joint CTC-attention training;
   * absent = no CTC head. The head's blank is the padding symbol, which never occurs in a target.
   */
  ctcLayer?: number;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  inputDim: 39,
  encoderLayers: 2,
  encoderUnits: 128,
  timeReduction: 4,
  attention: 'location',
  attentionDim: 128,
  locationKernel: 15,
  decoderUnits: 128,
  outputDim: 128,
  vocabSize: 31,
};

export function reductionSteps(cfg: ModelConfig): number {
  return Math.round(Math.log2(cfg.timeReduction));
}

export function validateModelConfig(cfg: ModelConfig): void {
  const steps = Math.log2(cfg.timeReduction);
  if (!Number.isInteger(steps) || steps < 0 || steps > 4) {
    throw new Error(`timeReduction must be 1, 2, 4, 8 or 16 (got ${cfg.timeReduction})`);
  }
  if (steps > cfg.encoderLayers) {
    throw new Error(`timeReduction ${cfg.timeReduction} needs at least ${steps} encoder layers (got ${cfg.encoderLayers})`);
  }
  if (cfg.attention !== 'additive' && cfg.attention !== 'location') {
    throw new Error(`attention must be "additive" or "location" (got ${String(cfg.attention)})`);
  }
  if (cfg.ctcLayer !== undefined && !(Number.isInteger(cfg.ctcLayer) && cfg.ctcLayer >= 0 && cfg.ctcLayer < cfg.encoderLayers)) {
    throw new Error(`ctcLayer must be an encoder layer index 0..${cfg.encoderLayers - 1} (got ${cfg.ctcLayer})`);
  }
  if (cfg.locationKernel % 2 !== 1) throw new Error('locationKernel must be odd');
  for (const key of ['inputDim', 'encoderLayers', 'encoderUnits', 'attentionDim', 'decoderUnits', 'outputDim', 'vocabSize'] as const) {
    if (!Number.isInteger(cfg[key]) || cfg[key] <= 0) throw new Error(`${key} must be a positive integer (got ${cfg[key]})`);
  }
}
