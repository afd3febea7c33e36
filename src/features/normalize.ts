import { createMatrix, type FeatureMatrix } from './matrix.js';

/** Per-dimension mean and (population) standard deviation, JSON-serializable. */
export interface NormStats {
  mean: number[];
  std: number[];
}

/** Smallest standard deviation `normalize` divides by. */
export const STD_FLOOR = 1e-5;

/**
 * Streaming per-dimension mean / variance over many matrices (Welford's algorithm in float64;
 * per-matrix batches are merged with Chan et al.'s formula), so millions of frames with a large
 * mean lose no precision. Partial accumulators (e.g. from data-parallel workers) can be merged.
 */
export class NormAccumulator {
  private n = 0;
  private mean: Float64Array | null = null;
  private m2: Float64Array | null = null;
  private dimension: number | null;

  constructor(dim?: number) {
    this.dimension = dim ?? null;
  }

  /** Frames seen so far. */
  get count(): number {
    return this.n;
  }

  get dim(): number | null {
    return this.dimension;
  }

  private ensure(dim: number): { mean: Float64Array; m2: Float64Array } {
    if (this.dimension === null) this.dimension = dim;
    if (dim !== this.dimension) throw new Error(`NormAccumulator: dim ${dim} does not match ${this.dimension}`);
    if (!this.mean || !this.m2) {
      this.mean = new Float64Array(dim);
      this.m2 = new Float64Array(dim);
    }
    return { mean: this.mean, m2: this.m2 };
  }

  /** Adds every frame of `m`. */
  add(m: FeatureMatrix): this {
    const { mean, m2 } = this.ensure(m.dim);
    if (m.frames === 0) return this;
    const D = m.dim;
    // Batch mean and M2 (two passes over the batch, float64), then merge.
    const bMean = new Float64Array(D);
    const bM2 = new Float64Array(D);
    const x = m.data;
    for (let t = 0; t < m.frames; t++) {
      const o = t * D;
      for (let j = 0; j < D; j++) bMean[j] = (bMean[j] as number) + (x[o + j] as number);
    }
    for (let j = 0; j < D; j++) bMean[j] = (bMean[j] as number) / m.frames;
    for (let t = 0; t < m.frames; t++) {
      const o = t * D;
      for (let j = 0; j < D; j++) {
        const d = (x[o + j] as number) - (bMean[j] as number);
        bM2[j] = (bM2[j] as number) + d * d;
      }
    }
    this.mergeRaw(m.frames, bMean, bM2, mean, m2);
    return this;
  }

  /** Adds the frames another accumulator has seen. */
  merge(other: NormAccumulator): this {
    if (other.n === 0 || !other.mean || !other.m2) return this;
    const { mean, m2 } = this.ensure(other.mean.length);
    this.mergeRaw(other.n, other.mean, other.m2, mean, m2);
    return this;
  }

  private mergeRaw(nb: number, bMean: Float64Array, bM2: Float64Array, mean: Float64Array, m2: Float64Array): void {
    const na = this.n;
    const n = na + nb;
    for (let j = 0; j < mean.length; j++) {
      const delta = (bMean[j] as number) - (mean[j] as number);
      mean[j] = (mean[j] as number) + (delta * nb) / n;
      m2[j] = (m2[j] as number) + (bM2[j] as number) + (delta * delta * na * nb) / n;
    }
    this.n = n;
  }

  /** Mean and population std (sqrt(M2 / n)); throws if no frame was added. */
  finish(): NormStats {
    if (this.n === 0 || !this.mean || !this.m2) throw new Error('NormAccumulator: no frames added');
    const n = this.n;
    return {
      mean: Array.from(this.mean),
      std: Array.from(this.m2, (v) => Math.sqrt(Math.max(0, v) / n)),
    };
  }
}

/** Stats of a set of matrices in one call. */
export function computeNormStats(matrices: Iterable<FeatureMatrix>): NormStats {
  const acc = new NormAccumulator();
  for (const m of matrices) acc.add(m);
  return acc.finish();
}

/** (x - mean) / max(std, 1e-5) per dimension; returns a new matrix. */
export function normalize(m: FeatureMatrix, stats: NormStats): FeatureMatrix {
  const D = m.dim;
  if (stats.mean.length !== D || stats.std.length !== D) {
    throw new Error(`normalize: stats have ${stats.mean.length}/${stats.std.length} dims, features have ${D}`);
  }
  const mean = Float64Array.from(stats.mean);
  const inv = Float64Array.from(stats.std, (s) => 1 / Math.max(s, STD_FLOOR));
  const out = createMatrix(m.frames, D);
  const x = m.data;
  const y = out.data;
  for (let t = 0; t < m.frames; t++) {
    const o = t * D;
    for (let j = 0; j < D; j++) y[o + j] = ((x[o + j] as number) - (mean[j] as number)) * (inv[j] as number);
  }
  return out;
}

/**
 * Cepstral mean normalization of one utterance: each dimension minus its mean over the
 * utterance's frames (a one-frame utterance becomes zeros). Returns a new matrix.
 */
export function subtractUtteranceMean(m: FeatureMatrix): FeatureMatrix {
  if (m.frames === 0) return createMatrix(0, m.dim);
  const { mean } = computeNormStats([m]);
  return normalize(m, { mean, std: mean.map(() => 1) });
}
