/**
 * MFCCs with meyda's `extract('mfcc', ...)`.
 *
 * What meyda computes for one buffer of `bufferSize` samples (meyda 5.6.3, windowingFunction
 * 'rect' so it adds no window of its own):
 *   power spectrum |X_k|^2 for k = 0 .. bufferSize/2 - 1 (the Nyquist bin is dropped)
 *   -> triangular mel filters, mel(f) = 1125 ln(1 + f/700), max(melBands, numCeps) filters spaced
 *      evenly in mel from 0 Hz to sampleRate/2, edges at bin floor((bufferSize + 1) f / sampleRate)
 *   -> ln(1 + energy) per band
 *   -> unnormalized DCT-II with scale 2: c_k = 2 sum_n e_n cos(pi k (n + 0.5) / N), first numCeps kept.
 *
 * Our part: frame the signal (Hamming window of `windowSamples(cfg)`, hop `hopSamples(cfg)`),
 * scale [-1, 1] floats to the int16 range (meyda's ln(1 + x) needs large energies to act like ln x),
 * and zero-pad each frame to fftSize.
 *
 * meyda keeps its settings and the mel filter bank in one process-global object, and only rebuilds
 * the bank when the number of bands changes (not when sampleRate or bufferSize do). Before each
 * utterance `configureMeyda` compares meyda's settings and bank with the config and, on any
 * difference, sets them and drops the cached bank (and bark/chroma tables) so meyda rebuilds them.
 * So one process may use several configs, interleaved; extraction is synchronous, so no other
 * code can change meyda's globals in the middle of an utterance.
 */
import meydaModule from 'meyda';
import { type FeatureConfig, hopSamples, numFrames, validateFeatureConfig, windowSamples } from './config.js';
import { createMatrix, type FeatureMatrix } from './matrix.js';

/** The part of meyda's runtime object koe relies on (its shipped .d.ts does not resolve under NodeNext). */
export interface MeydaRuntime {
  bufferSize: number;
  sampleRate: number;
  melBands: number;
  numberOfMFCCCoefficients: number;
  windowingFunction: string;
  /** Cached by meyda on first extract; set to undefined to force a rebuild. */
  melFilterBank?: number[][] | undefined;
  barkScale?: Float32Array | undefined;
  chromaFilterBank?: number[][] | undefined;
  extract(feature: string, signal: ArrayLike<number>, previousSignal?: ArrayLike<number>): unknown;
}

// meyda is CommonJS (`module.exports = Meyda`), so the default import is the Meyda object itself.
const meyda = meydaModule as unknown as MeydaRuntime;

/** The meyda object used by koe (for tests and diagnostics; configure it with `configureMeyda`). */
export function getMeyda(): MeydaRuntime {
  return meyda;
}

/** Factor from [-1, 1] float samples to the int16 range. */
export const INT16_SCALE = 32768;

let configuredKey = '';
let configuredBank: number[][] | undefined;

/**
 * Makes meyda's global state match `cfg` (settings, mel filter bank, 'rect' window).
 * Cheap when nothing changed; call it before a run of `extract` calls.
 */
export function configureMeyda(cfg: FeatureConfig): void {
  const key = `${cfg.sampleRate}|${cfg.fftSize}|${cfg.melBands}|${cfg.numCeps}`;
  const stale =
    key !== configuredKey ||
    meyda.sampleRate !== cfg.sampleRate ||
    meyda.bufferSize !== cfg.fftSize ||
    meyda.melBands !== cfg.melBands ||
    meyda.numberOfMFCCCoefficients !== cfg.numCeps ||
    meyda.melFilterBank !== configuredBank;
  if (stale) {
    meyda.sampleRate = cfg.sampleRate;
    meyda.bufferSize = cfg.fftSize;
    meyda.melBands = cfg.melBands;
    meyda.numberOfMFCCCoefficients = cfg.numCeps;
    meyda.melFilterBank = undefined;
    meyda.barkScale = undefined;
    meyda.chromaFilterBank = undefined;
    configuredKey = key;
    configuredBank = undefined; // recorded after meyda builds it
  }
  meyda.windowingFunction = 'rect';
}

function recordBank(): void {
  if (configuredBank === undefined) configuredBank = meyda.melFilterBank;
}

const hammingCache = new Map<number, Float64Array>();

/** Symmetric Hamming window 0.54 - 0.46 cos(2 pi n / (N - 1)), as in HTK, Kaldi and numpy. */
export function hammingWindow(n: number): Float64Array {
  let w = hammingCache.get(n);
  if (!w) {
    w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (n - 1));
    hammingCache.set(n, w);
  }
  return w;
}

/**
 * Fills `out` (length fftSize) with frame `t`: samples [t*hop, t*hop + win) scaled to int16 range,
 * Hamming-windowed, zero-padded (also past the end of the audio). Exported for tests and tools.
 */
export function prepareFrame(samples: Float32Array, t: number, cfg: FeatureConfig, out: Float64Array): Float64Array {
  const win = windowSamples(cfg);
  const start = t * hopSamples(cfg);
  const w = hammingWindow(win);
  const avail = Math.max(0, Math.min(win, samples.length - start));
  for (let i = 0; i < avail; i++) out[i] = (samples[start + i] as number) * INT16_SCALE * (w[i] as number);
  out.fill(0, avail);
  return out;
}

/**
 * MFCCs of 16-bit-range-scaled, Hamming-windowed frames: frames x numCeps (c0 first; c0 is
 * 2 x the sum of log mel energies, an energy term). `samples` are floats in [-1, 1] at
 * cfg.sampleRate. Frame count: `numFrames(samples.length, cfg)`; audio shorter than one
 * window (even empty audio) gives one zero-padded frame, never zero frames.
 */
export function computeMfcc(samples: Float32Array, cfg: FeatureConfig): FeatureMatrix {
  validateFeatureConfig(cfg);
  const frames = numFrames(samples.length, cfg);
  const dim = cfg.numCeps;
  const out = createMatrix(frames, dim);
  // Float64Array (not Float32Array): meyda passes typed arrays through as-is and its FFT then
  // works in float64; a Float32Array would round every butterfly to float32.
  const buf = new Float64Array(cfg.fftSize);
  configureMeyda(cfg);
  for (let t = 0; t < frames; t++) {
    prepareFrame(samples, t, cfg, buf);
    const c = meyda.extract('mfcc', buf) as number[];
    if (t === 0) {
      recordBank();
      if (!Array.isArray(c) || c.length !== dim) {
        throw new Error(`meyda returned ${Array.isArray(c) ? c.length : typeof c} MFCCs, expected ${dim}`);
      }
    }
    out.data.set(c, t * dim);
  }
  return out;
}
