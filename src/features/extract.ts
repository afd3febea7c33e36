import { DEFAULT_FEATURE_CONFIG, type FeatureConfig } from './config.js';
import { addDeltas } from './deltas.js';
import type { FeatureMatrix } from './matrix.js';
import { computeMfcc } from './mfcc.js';
import { computeMfccJs } from './mfccjs.js';
import { subtractUtteranceMean } from './normalize.js';

/**
 * Which MFCC implementation runs: 'meyda' (default, meyda's extract('mfcc')) or 'js'
 * (computeMfccJs: the same arithmetic in plain TypeScript, several times faster; results
 * agree to ~1e-4 absolute). Not a feature setting: both give the same features.
 */
export type MfccEngine = 'meyda' | 'js';

export interface ExtractOptions {
  engine?: MfccEngine;
}

/** MFCCs with the chosen engine. */
export function computeMfccWith(engine: MfccEngine, samples: Float32Array, cfg: FeatureConfig): FeatureMatrix {
  return engine === 'js' ? computeMfccJs(samples, cfg) : computeMfcc(samples, cfg);
}

/**
 * Unnormalized features of 16 kHz mono float samples in [-1, 1]: MFCCs (less their mean over
 * the utterance when cfg.cmn), plus deltas and delta-deltas when cfg.useDeltas ([c, Δc, ΔΔc],
 * featureDim(cfg) values per frame). Always at least one frame. Apply `normalize` with the
 * model's stats afterwards.
 */
export function extractFeatures(
  samples16k: Float32Array,
  cfg: FeatureConfig = DEFAULT_FEATURE_CONFIG,
  opts: ExtractOptions = {},
): FeatureMatrix {
  const raw = computeMfccWith(opts.engine ?? 'meyda', samples16k, cfg);
  const mfcc = cfg.cmn ? subtractUtteranceMean(raw) : raw;
  return cfg.useDeltas ? addDeltas(mfcc, cfg.deltaWindow) : mfcc;
}
