/**
 * Feature-extraction settings. They are stored with every model (the model directory
 * holds its feature settings), so a model is always fed the features it was trained on.
 */
export interface FeatureConfig {
  /** Sample rate of the input audio in Hz (koe resamples everything to 16 kHz first). */
  sampleRate: number;
  /** Analysis window length in milliseconds (Hamming window). */
  windowMs: number;
  /** Hop between successive frames in milliseconds. */
  hopMs: number;
  /** FFT length in samples: a power of two, at least the window length (the frame is zero-padded). */
  fftSize: number;
  /** Number of triangular mel filters (1..). Must be >= numCeps. */
  melBands: number;
  /** Number of cepstral coefficients kept, c0 included (1..40, meyda's limit). */
  numCeps: number;
  /** Half-width of the delta regression window (HTK's DELTAWINDOW), >= 1. */
  deltaWindow: number;
  /** Append deltas and delta-deltas: [c, Δc, ΔΔc] → 3 x numCeps dims. */
  useDeltas: boolean;
  /**
   * Cepstral mean normalization: subtract each utterance's own mean from its cepstra (before
   * the deltas, which a constant offset does not change). It removes what is constant over an
   * utterance: the voice's average spectral envelope, the microphone's and room's response, the
   * loudness (c0). Absent (models trained before it existed) means off.
   */
  cmn?: boolean;
}

/** 16 kHz, 25 ms Hamming window, 10 ms hop, 512-point FFT, 40 mel bands, 13 cepstra + Δ + ΔΔ (window 2) = 39 dims. */
export const DEFAULT_FEATURE_CONFIG: Readonly<FeatureConfig> = Object.freeze({
  sampleRate: 16000,
  windowMs: 25,
  hopMs: 10,
  fftSize: 512,
  melBands: 40,
  numCeps: 13,
  deltaWindow: 2,
  useDeltas: true,
});

/** Whether two feature settings make the same features (an absent cmn, as in older models, is off). */
export function sameFeatures(a: FeatureConfig, b: FeatureConfig): boolean {
  const canon = (f: FeatureConfig): string => JSON.stringify(Object.entries({ ...f, cmn: f.cmn === true }).sort(([x], [y]) => (x < y ? -1 : 1)));
  return canon(a) === canon(b);
}

/** Number of values per output frame. */
export function featureDim(cfg: FeatureConfig): number {
  return cfg.useDeltas ? cfg.numCeps * 3 : cfg.numCeps;
}

/** Window length in samples (25 ms at 16 kHz = 400). */
export function windowSamples(cfg: FeatureConfig): number {
  return Math.round((cfg.sampleRate * cfg.windowMs) / 1000);
}

/** Hop length in samples (10 ms at 16 kHz = 160). */
export function hopSamples(cfg: FeatureConfig): number {
  return Math.round((cfg.sampleRate * cfg.hopMs) / 1000);
}

/**
 * Frames produced for `numSamples` samples: floor((n - win) / hop) + 1 when n >= win
 * (trailing samples that do not fill a window are dropped); audio shorter than one
 * window, including empty audio, is zero-padded to exactly one frame.
 */
export function numFrames(numSamples: number, cfg: FeatureConfig): number {
  const win = windowSamples(cfg);
  if (numSamples < win) return 1;
  return Math.floor((numSamples - win) / hopSamples(cfg)) + 1;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Throws a descriptive error when the configuration cannot be computed. */
export function validateFeatureConfig(cfg: FeatureConfig): void {
  const fail = (msg: string): never => {
    throw new Error(`invalid feature config: ${msg}`);
  };
  if (!(cfg.sampleRate > 0)) fail(`sampleRate must be > 0 (got ${cfg.sampleRate})`);
  const win = windowSamples(cfg);
  const hop = hopSamples(cfg);
  if (!(win >= 2)) fail(`window must be at least 2 samples (got ${win})`);
  if (!(hop >= 1)) fail(`hop must be at least 1 sample (got ${hop})`);
  if (!isPowerOfTwo(cfg.fftSize)) fail(`fftSize must be a power of two (got ${cfg.fftSize})`);
  if (cfg.fftSize < win) fail(`fftSize ${cfg.fftSize} is shorter than the window (${win} samples)`);
  if (!Number.isInteger(cfg.melBands) || cfg.melBands < 1) fail(`melBands must be an integer >= 1 (got ${cfg.melBands})`);
  if (!Number.isInteger(cfg.numCeps) || cfg.numCeps < 1 || cfg.numCeps > 40) {
    fail(`numCeps must be an integer in 1..40 (got ${cfg.numCeps})`);
  }
  if (cfg.numCeps > cfg.melBands) fail(`numCeps (${cfg.numCeps}) must not exceed melBands (${cfg.melBands})`);
  if (cfg.cmn !== undefined && typeof cfg.cmn !== 'boolean') fail(`cmn must be true or false (got ${JSON.stringify(cfg.cmn)})`);
  if (cfg.useDeltas && (!Number.isInteger(cfg.deltaWindow) || cfg.deltaWindow < 1)) {
    fail(`deltaWindow must be an integer >= 1 (got ${cfg.deltaWindow})`);
  }
}
