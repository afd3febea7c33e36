import { createMatrix, type FeatureMatrix } from './matrix.js';

/**
 * HTK regression deltas of every column:
 *   d_t = sum_{k=1..W} k (x_{t+k} - x_{t-k}) / (2 sum_{k=1..W} k^2),
 * with frames outside 0..T-1 replaced by the first / last frame (edges replicated).
 * Returns frames x dim.
 */
export function computeDeltas(m: FeatureMatrix, window = 2): FeatureMatrix {
  if (!Number.isInteger(window) || window < 1) throw new Error(`delta window must be an integer >= 1 (got ${window})`);
  const { frames: T, dim: D, data: x } = m;
  const out = createMatrix(T, D);
  if (T === 0) return out;
  let denom = 0;
  for (let k = 1; k <= window; k++) denom += k * k;
  denom *= 2;
  const acc = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    acc.fill(0);
    for (let k = 1; k <= window; k++) {
      const p = Math.min(T - 1, t + k) * D;
      const q = Math.max(0, t - k) * D;
      for (let j = 0; j < D; j++) acc[j] = (acc[j] as number) + k * ((x[p + j] as number) - (x[q + j] as number));
    }
    const o = t * D;
    for (let j = 0; j < D; j++) out.data[o + j] = (acc[j] as number) / denom;
  }
  return out;
}

/**
 * Appends deltas and delta-deltas (deltas of the deltas, same window): each output frame is
 * [c, Δc, ΔΔc], so dim triples. The input is not modified.
 */
export function addDeltas(m: FeatureMatrix, window = 2): FeatureMatrix {
  const d1 = computeDeltas(m, window);
  const d2 = computeDeltas(d1, window);
  const D = m.dim;
  const out = createMatrix(m.frames, 3 * D);
  for (let t = 0; t < m.frames; t++) {
    const o = t * 3 * D;
    out.data.set(m.data.subarray(t * D, (t + 1) * D), o);
    out.data.set(d1.data.subarray(t * D, (t + 1) * D), o + D);
    out.data.set(d2.data.subarray(t * D, (t + 1) * D), o + 2 * D);
  }
  return out;
}
