import { describe, expect, it } from 'vitest';
import {
  type FeatureMatrix,
  NormAccumulator,
  type NormStats,
  STD_FLOOR,
  at,
  column,
  computeNormStats,
  createMatrix,
  DEFAULT_FEATURE_CONFIG,
  extractFeatures,
  normalize,
  subtractUtteranceMean,
  validateFeatureConfig,
} from '../src/features/index.js';
import { makeRng } from '../src/util/rng.js';

function randomMatrix(frames: number, dim: number, seed: number, means: number[], scales: number[]): FeatureMatrix {
  const rng = makeRng(seed);
  const m = createMatrix(frames, dim);
  for (let t = 0; t < frames; t++) {
    for (let j = 0; j < dim; j++) m.data[t * dim + j] = (means[j] as number) + (scales[j] as number) * (rng() * 2 - 1);
  }
  return m;
}

/** Two-pass float64 statistics over all frames. */
function refStats(ms: FeatureMatrix[]): NormStats {
  const dim = ms[0]!.dim;
  const mean = new Array(dim).fill(0);
  let n = 0;
  for (const m of ms) for (let t = 0; t < m.frames; t++) for (let j = 0; j < dim; j++) mean[j] += at(m, t, j);
  for (const m of ms) n += m.frames;
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const v = new Array(dim).fill(0);
  for (const m of ms) for (let t = 0; t < m.frames; t++) for (let j = 0; j < dim; j++) v[j] += (at(m, t, j) - mean[j]) ** 2;
  return { mean, std: v.map((x) => Math.sqrt(x / n)) };
}

function meanStd(x: Float32Array): [number, number] {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return [mean, Math.sqrt(q / x.length)];
}

describe('NormAccumulator', () => {
  const means = [1000, -3, 0, 250.5];
  const scales = [0.01, 5, 1, 40];
  const parts = [randomMatrix(300, 4, 1, means, scales), randomMatrix(1, 4, 2, means, scales), randomMatrix(57, 4, 3, means, scales)];

  it('streams to the two-pass statistics, even with a large mean and tiny spread', () => {
    const acc = new NormAccumulator();
    for (const p of parts) acc.add(p);
    expect(acc.count).toBe(358);
    const got = acc.finish();
    const ref = refStats(parts);
    for (let j = 0; j < 4; j++) {
      expect(Math.abs(got.mean[j]! - ref.mean[j]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(ref.mean[j]!)));
      expect(Math.abs(got.std[j]! - ref.std[j]!) / ref.std[j]!).toBeLessThan(1e-9);
    }
    expect(computeNormStats(parts)).toEqual(got);
  });

  it('merging partial accumulators equals one pass', () => {
    const a = new NormAccumulator().add(parts[0]!);
    const b = new NormAccumulator().add(parts[1]!).add(parts[2]!);
    const merged = a.merge(b).finish();
    const ref = refStats(parts);
    for (let j = 0; j < 4; j++) {
      expect(merged.mean[j]).toBeCloseTo(ref.mean[j]!, 9);
      expect(merged.std[j]).toBeCloseTo(ref.std[j]!, 9);
    }
  });

  it('rejects empty input and mismatched dims', () => {
    expect(() => new NormAccumulator().finish()).toThrow(/no frames/);
    expect(() => new NormAccumulator().add(createMatrix(0, 3)).finish()).toThrow(/no frames/);
    expect(() => new NormAccumulator().add(createMatrix(2, 3)).add(createMatrix(2, 4))).toThrow(/dim/);
    expect(() => new NormAccumulator(39).add(createMatrix(2, 13))).toThrow(/dim/);
  });
});

describe('normalize', () => {
  it('gives mean 0 and std 1 per dimension on the data the stats came from', () => {
    const m = randomMatrix(500, 4, 9, [1000, -3, 0, 250.5], [0.5, 5, 1, 40]);
    const stats = new NormAccumulator().add(m).finish();
    const z = normalize(m, stats);
    for (let j = 0; j < 4; j++) {
      const [mu, sd] = meanStd(column(z, j));
      expect(Math.abs(mu)).toBeLessThan(1e-4);
      expect(Math.abs(sd - 1)).toBeLessThan(1e-4);
    }
  });

  it('on real features (MFCC + deltas)', () => {
    const rng = makeRng(5);
    const x = new Float32Array(32000);
    for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin(i * 0.05 * (1 + i / 32000)) + 0.05 * (rng() * 2 - 1);
    const f = extractFeatures(x);
    const z = normalize(f, computeNormStats([f]));
    for (let j = 0; j < 39; j++) {
      const [mu, sd] = meanStd(column(z, j));
      expect(Math.abs(mu)).toBeLessThan(1e-3);
      expect(Math.abs(sd - 1)).toBeLessThan(1e-3);
    }
  });

  it('floors the std at 1e-5: a constant dimension maps to 0, never NaN/Infinity', () => {
    const m = createMatrix(10, 2);
    for (let t = 0; t < 10; t++) {
      m.data[2 * t] = 4;
      m.data[2 * t + 1] = t;
    }
    const stats = computeNormStats([m]);
    expect(stats.std[0]).toBe(0);
    const z = normalize(m, stats);
    expect(z.data.every((v) => Number.isFinite(v))).toBe(true);
    expect(Array.from(column(z, 0))).toEqual(new Array(10).fill(0));
    const tiny = normalize(m, { mean: [3, 0], std: [1e-9, 1] });
    expect(at(tiny, 0, 0)).toBeCloseTo(1 / STD_FLOOR, 0);
  });

  it('does not modify its input, survives a JSON round trip, checks dims', () => {
    const m = randomMatrix(20, 3, 4, [1, 2, 3], [1, 1, 1]);
    const before = m.data.slice();
    const stats = computeNormStats([m]);
    const z1 = normalize(m, stats);
    const z2 = normalize(m, JSON.parse(JSON.stringify(stats)) as NormStats);
    expect(Array.from(m.data)).toEqual(Array.from(before));
    expect(Array.from(z2.data)).toEqual(Array.from(z1.data));
    expect(() => normalize(m, { mean: [0, 0], std: [1, 1] })).toThrow(/dims/);
  });
});

describe('cepstral mean normalization (features.cmn)', () => {
  const cmn = { ...DEFAULT_FEATURE_CONFIG, cmn: true };
  /** A chirp in noise, scaled by `gain`; the same seed gives the same waveform. */
  function chirp(gain: number): Float32Array {
    const rng = makeRng(9);
    const x = new Float32Array(24000);
    for (let i = 0; i < x.length; i++) x[i] = gain * (0.3 * Math.sin(i * 0.04 * (1 + i / 24000)) + 0.05 * (rng() * 2 - 1));
    return x;
  }

  it('subtractUtteranceMean leaves every dimension with zero mean and the frame-to-frame changes intact', () => {
    const m = randomMatrix(50, 3, 8, [5, -2, 40], [1, 3, 0.5]);
    const z = subtractUtteranceMean(m);
    for (let j = 0; j < 3; j++) expect(Math.abs(meanStd(column(z, j))[0])).toBeLessThan(1e-4);
    for (let t = 1; t < 50; t++) for (let j = 0; j < 3; j++) expect(at(z, t, j) - at(z, t - 1, j)).toBeCloseTo(at(m, t, j) - at(m, t - 1, j), 4);
    expect(Array.from(subtractUtteranceMean(randomMatrix(1, 3, 2, [1, 2, 3], [1, 1, 1])).data)).toEqual([0, 0, 0]);
  });

  it.each(['meyda', 'js'] as const)('makes the features independent of the recording level, which without it moves c0 (%s engine)', (engine) => {
    const quiet = extractFeatures(chirp(0.2), cmn, { engine });
    const loud = extractFeatures(chirp(1), cmn, { engine });
    expect(loud.frames).toBe(quiet.frames);
    let worst = 0;
    for (let i = 0; i < loud.data.length; i++) worst = Math.max(worst, Math.abs((loud.data[i] as number) - (quiet.data[i] as number)));
    expect(worst).toBeLessThan(1e-2);
    const plainQuiet = extractFeatures(chirp(0.2), DEFAULT_FEATURE_CONFIG, { engine });
    const plainLoud = extractFeatures(chirp(1), DEFAULT_FEATURE_CONFIG, { engine });
    expect(Math.abs(at(plainLoud, 10, 0) - at(plainQuiet, 10, 0))).toBeGreaterThan(1);
  });

  it('zeroes the static cepstra\'s means and leaves the deltas as they were', () => {
    const x = chirp(1);
    const withCmn = extractFeatures(x, cmn);
    const without = extractFeatures(x);
    const C = DEFAULT_FEATURE_CONFIG.numCeps;
    for (let j = 0; j < C; j++) expect(Math.abs(meanStd(column(withCmn, j))[0])).toBeLessThan(1e-3);
    expect(Math.abs(meanStd(column(without, 1))[0])).toBeGreaterThan(1e-2);
    for (let j = C; j < 3 * C; j++) {
      const a = column(withCmn, j);
      const b = column(without, j);
      for (let t = 0; t < a.length; t++) expect(a[t] as number).toBeCloseTo(b[t] as number, 3);
    }
  });

  it('is a checked boolean setting; a config without it (older models) means off', () => {
    expect(() => validateFeatureConfig({ ...DEFAULT_FEATURE_CONFIG, cmn: 'yes' as unknown as boolean })).toThrow(/cmn must be true or false/);
    expect(() => validateFeatureConfig(cmn)).not.toThrow();
    expect(DEFAULT_FEATURE_CONFIG.cmn).toBeUndefined();
  });
});
