import { describe, expect, it } from 'vitest';
import {
  type FeatureMatrix,
  type SpecAugmentConfig,
  at,
  createMatrix,
  drawSpecAugmentMasks,
  specAugment,
} from '../src/features/index.js';
import { makeRng } from '../src/util/rng.js';

function ones(frames: number, dim: number): FeatureMatrix {
  const m = createMatrix(frames, dim);
  m.data.fill(1);
  return m;
}

const isZeroColumn = (m: FeatureMatrix, j: number): boolean => {
  for (let t = 0; t < m.frames; t++) if (at(m, t, j) !== 0) return false;
  return true;
};
const isZeroRow = (m: FeatureMatrix, t: number): boolean => {
  for (let j = 0; j < m.dim; j++) if (at(m, t, j) !== 0) return false;
  return true;
};

const cfg: SpecAugmentConfig = { freqMasks: 2, freqMaskWidth: 5, timeMasks: 2, timeMaskWidth: 10, maxTimeMaskFraction: 0.2 };

describe('specAugment', () => {
  it('zeroes exactly the drawn bands and frames, the requested number of masks within the limits', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const m = ones(100, 39);
      const masks = drawSpecAugmentMasks(100, 39, cfg, makeRng(seed));
      expect(masks.freq.length).toBe(2);
      expect(masks.time.length).toBe(2);
      const out = specAugment(m, cfg, makeRng(seed));
      const maskedCols = new Set<number>();
      for (const [s, w] of masks.freq) {
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThanOrEqual(5);
        expect(s + w).toBeLessThanOrEqual(39);
        for (let j = s; j < s + w; j++) maskedCols.add(j);
      }
      const maskedRows = new Set<number>();
      for (const [s, w] of masks.time) {
        expect(w).toBeLessThanOrEqual(10);
        expect(s + w).toBeLessThanOrEqual(100);
        for (let t = s; t < s + w; t++) maskedRows.add(t);
      }
      for (let t = 0; t < 100; t++) {
        for (let j = 0; j < 39; j++) {
          expect(at(out, t, j)).toBe(maskedCols.has(j) || maskedRows.has(t) ? 0 : 1);
        }
      }
      const zeroCols = Array.from({ length: 39 }, (_, j) => j).filter((j) => isZeroColumn(out, j));
      const zeroRows = Array.from({ length: 100 }, (_, t) => t).filter((t) => isZeroRow(out, t));
      expect(zeroCols.length).toBe(maskedCols.size);
      expect(zeroRows.length).toBe(maskedRows.size);
      expect(m.data.every((v) => v === 1)).toBe(true); // input untouched
    }
  });

  it('one mask of each kind is a contiguous run whose width spans 0..max over seeds', () => {
    const one: SpecAugmentConfig = { freqMasks: 1, freqMaskWidth: 4, timeMasks: 1, timeMaskWidth: 6, maxTimeMaskFraction: 1 };
    const widthsF = new Set<number>();
    const widthsT = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const out = specAugment(ones(30, 13), one, makeRng(seed));
      const cols = Array.from({ length: 13 }, (_, j) => j).filter((j) => isZeroColumn(out, j));
      const rows = Array.from({ length: 30 }, (_, t) => t).filter((t) => isZeroRow(out, t));
      if (cols.length > 0) expect(cols[cols.length - 1]! - cols[0]! + 1).toBe(cols.length);
      if (rows.length > 0) expect(rows[rows.length - 1]! - rows[0]! + 1).toBe(rows.length);
      widthsF.add(cols.length);
      widthsT.add(rows.length);
    }
    expect([...widthsF].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect([...widthsT].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('caps a time mask at maxTimeMaskFraction of the utterance', () => {
    const c: SpecAugmentConfig = { freqMasks: 0, freqMaskWidth: 0, timeMasks: 3, timeMaskWidth: 50, maxTimeMaskFraction: 0.1 };
    for (let seed = 0; seed < 100; seed++) {
      for (const [, w] of drawSpecAugmentMasks(40, 13, c, makeRng(seed)).time) expect(w).toBeLessThanOrEqual(4);
    }
    // A 3-frame utterance with fraction 0.2 can have no time mask at all.
    expect(specAugment(ones(3, 13), { ...c, maxTimeMaskFraction: 0.2 }, makeRng(1)).data.every((v) => v === 1)).toBe(true);
  });

  it('is deterministic for a seed, and differs across seeds', () => {
    const rng = makeRng(123);
    const m = createMatrix(80, 39);
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng() * 2 - 1;
    const a = specAugment(m, cfg, makeRng(42));
    const b = specAugment(m, cfg, makeRng(42));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const differs = [43, 44, 45].some((s) => specAugment(m, cfg, makeRng(s)).data.some((v, i) => v !== a.data[i]));
    expect(differs).toBe(true);
    expect(a).not.toBe(m);
    expect(a.data).not.toBe(m.data);
  });

  it('featureGroups: a feature mask hits the same coefficient in c, Δc and ΔΔc', () => {
    const c: SpecAugmentConfig = { freqMasks: 1, freqMaskWidth: 3, timeMasks: 0, timeMaskWidth: 0, maxTimeMaskFraction: 0, featureGroups: 3 };
    for (let seed = 0; seed < 30; seed++) {
      const [[s, w]] = drawSpecAugmentMasks(20, 39, c, makeRng(seed)).freq as [[number, number]];
      expect(s + w).toBeLessThanOrEqual(13);
      const out = specAugment(ones(20, 39), c, makeRng(seed));
      for (let j = 0; j < 39; j++) expect(isZeroColumn(out, j)).toBe(j % 13 >= s && j % 13 < s + w);
    }
    expect(() => specAugment(ones(2, 40), c, makeRng(1))).toThrow(/featureGroups/);
  });
});
