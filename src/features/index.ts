export {
  type FeatureConfig,
  DEFAULT_FEATURE_CONFIG,
  featureDim,
  sameFeatures,
  windowSamples,
  hopSamples,
  numFrames,
  validateFeatureConfig,
} from './config.js';
export {
  type FeatureMatrix,
  createMatrix,
  frameRow,
  column,
  at,
  cloneMatrix,
  matrixFromRows,
  matrixToRows,
} from './matrix.js';
export { computeMfcc, configureMeyda, getMeyda, hammingWindow, prepareFrame, INT16_SCALE, type MeydaRuntime } from './mfcc.js';
export { addDeltas, computeDeltas } from './deltas.js';
export { type NormStats, NormAccumulator, computeNormStats, normalize, subtractUtteranceMean, STD_FLOOR } from './normalize.js';
export {
  type SpecAugmentConfig,
  type SpecAugmentMasks,
  specAugment,
  drawSpecAugmentMasks,
  applySpecAugmentMasks,
} from './specaugment.js';
export { extractFeatures, computeMfccWith, type MfccEngine, type ExtractOptions } from './extract.js';
export { computeMfccJs, meydaMelFilterBank } from './mfccjs.js';
