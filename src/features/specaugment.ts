import type { Rng } from '../util/rng.js';
import { cloneMatrix, type FeatureMatrix } from './matrix.js';

/**
 * SpecAugment-style masking (Park et al. 2019), without time warping, on normalized features.
 * Each mask's width is drawn uniformly from 0..maxWidth (inclusive; 0 masks nothing) and its
 * start uniformly from the positions where it fits.
 */
export interface SpecAugmentConfig {
  /** Number of feature-dimension ("frequency") masks. */
  freqMasks: number;
  /** Largest width of one feature mask, in dimensions (per group, see featureGroups). */
  freqMaskWidth: number;
  /** Number of time masks. */
  timeMasks: number;
  /** Largest width of one time mask, in frames. */
  timeMaskWidth: number;
  /** Upper bound of one time mask's width as a fraction of the utterance's frames (the paper's p, e.g. 0.2). */
  maxTimeMaskFraction: number;
  /**
   * Optional: the feature vector is this many equal blocks (3 for [c, Δc, ΔΔc]); a feature mask
   * then covers the same coefficients in every block. Default 1: masks are plain column ranges.
   */
  featureGroups?: number;
}

/** Masks used by one call (for tests and debugging). */
export interface SpecAugmentMasks {
  /** [start, width] over 0..dim/featureGroups. */
  freq: Array<[number, number]>;
  /** [start, width] over frames. */
  time: Array<[number, number]>;
}

function randInt(rng: Rng, maxInclusive: number): number {
  if (maxInclusive <= 0) return 0;
  return Math.min(maxInclusive, Math.floor(rng() * (maxInclusive + 1)));
}

/** Draws the masks `specAugment` applies, consuming the generator in the same order. */
export function drawSpecAugmentMasks(frames: number, dim: number, cfg: SpecAugmentConfig, rng: Rng): SpecAugmentMasks {
  const groups = cfg.featureGroups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || dim % groups !== 0) {
    throw new Error(`specAugment: featureGroups ${groups} does not divide dim ${dim}`);
  }
  const groupDim = dim / groups;
  const freq: Array<[number, number]> = [];
  const time: Array<[number, number]> = [];
  const maxF = Math.min(Math.max(0, Math.floor(cfg.freqMaskWidth)), groupDim);
  for (let i = 0; i < cfg.freqMasks; i++) {
    const w = randInt(rng, maxF);
    const s = randInt(rng, groupDim - w);
    freq.push([s, w]);
  }
  const capT = Math.floor(Math.max(0, cfg.maxTimeMaskFraction) * frames);
  const maxT = Math.min(Math.max(0, Math.floor(cfg.timeMaskWidth)), capT, frames);
  for (let i = 0; i < cfg.timeMasks; i++) {
    const w = randInt(rng, maxT);
    const s = randInt(rng, frames - w);
    time.push([s, w]);
  }
  return { freq, time };
}

/** Applies given masks to a copy of `m` (masked values set to 0, the mean after normalization). */
export function applySpecAugmentMasks(m: FeatureMatrix, masks: SpecAugmentMasks, featureGroups = 1): FeatureMatrix {
  const out = cloneMatrix(m);
  const D = m.dim;
  const groupDim = D / featureGroups;
  const y = out.data;
  for (const [s, w] of masks.freq) {
    if (w <= 0) continue;
    for (let t = 0; t < m.frames; t++) {
      for (let g = 0; g < featureGroups; g++) {
        const o = t * D + g * groupDim + s;
        y.fill(0, o, o + w);
      }
    }
  }
  for (const [s, w] of masks.time) {
    if (w <= 0) continue;
    y.fill(0, s * D, (s + w) * D);
  }
  return out;
}

/**
 * Returns a masked copy of `m` (never mutates it). Deterministic for a given generator state:
 * pass `makeRng(seed)` from src/util/rng.ts.
 */
export function specAugment(m: FeatureMatrix, cfg: SpecAugmentConfig, rng: Rng): FeatureMatrix {
  const masks = drawSpecAugmentMasks(m.frames, m.dim, cfg, rng);
  return applySpecAugmentMasks(m, masks, cfg.featureGroups ?? 1);
}
