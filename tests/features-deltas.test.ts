import { describe, expect, it } from 'vitest';
import { addDeltas, at, computeDeltas, createMatrix, type FeatureMatrix, frameRow, matrixFromRows } from '../src/features/index.js';
import { makeRng } from '../src/util/rng.js';

/** HTK formula written out directly, with clamped (replicated) edges. */
function refDelta(x: number[][], W: number): number[][] {
  const T = x.length;
  const denom = 2 * Array.from({ length: W }, (_, k) => (k + 1) ** 2).reduce((a, b) => a + b, 0);
  return x.map((row, t) =>
    row.map((_, j) => {
      let s = 0;
      for (let k = 1; k <= W; k++) {
        const next = x[Math.min(T - 1, t + k)] as number[];
        const prev = x[Math.max(0, t - k)] as number[];
        s += k * ((next[j] as number) - (prev[j] as number));
      }
      return s / denom;
    }),
  );
}

function ramp(T: number, slopes: number[], offsets: number[]): FeatureMatrix {
  const rows = Array.from({ length: T }, (_, t) => slopes.map((a, j) => a * t + (offsets[j] as number)));
  return matrixFromRows(rows);
}

describe('addDeltas', () => {
  it('a linear ramp has constant deltas and zero delta-deltas away from the edges', () => {
    const slopes = [1, -0.5, 3.25, 0];
    const m = ramp(50, slopes, [10, 2, -7, 4]);
    for (const W of [1, 2, 3]) {
      const f = addDeltas(m, W);
      expect(f.dim).toBe(12);
      for (let t = W; t < 50 - W; t++) {
        for (let j = 0; j < 4; j++) expect(at(f, t, 4 + j)).toBeCloseTo(slopes[j] as number, 5);
      }
      for (let t = 2 * W; t < 50 - 2 * W; t++) {
        for (let j = 0; j < 4; j++) expect(Math.abs(at(f, t, 8 + j))).toBeLessThan(1e-5);
      }
    }
  });

  it('replicates edge frames (HTK): first delta of a unit ramp with W=2 is (1*(1-0) + 2*(2-0))/10', () => {
    const f = addDeltas(ramp(10, [1], [0]), 2);
    expect(at(f, 0, 1)).toBeCloseTo(0.5, 6);
    expect(at(f, 1, 1)).toBeCloseTo((1 * (2 - 0) + 2 * (3 - 0)) / 10, 6); // t - 2 clamps to frame 0
    expect(at(f, 9, 1)).toBeCloseTo(0.5, 6);
  });

  it('matches the HTK formula on random data, edges included', () => {
    const rng = makeRng(4);
    const rows = Array.from({ length: 17 }, () => Array.from({ length: 5 }, () => rng() * 20 - 10));
    const m = matrixFromRows(rows);
    for (const W of [1, 2]) {
      const d1 = refDelta(rows, W);
      const d2 = refDelta(d1, W);
      const f = addDeltas(m, W);
      for (let t = 0; t < 17; t++) {
        const r = frameRow(f, t);
        for (let j = 0; j < 5; j++) {
          expect(r[j]).toBeCloseTo(rows[t]![j]!, 5);
          expect(r[5 + j]).toBeCloseTo(d1[t]![j]!, 5);
          expect(r[10 + j]).toBeCloseTo(d2[t]![j]!, 5);
        }
      }
      const only = computeDeltas(m, W);
      expect(only.dim).toBe(5);
      expect(at(only, 3, 2)).toBeCloseTo(d1[3]![2]!, 5);
    }
  });

  it('constant input gives zero deltas everywhere; 1 and 0 frames work; input untouched', () => {
    const c = matrixFromRows(Array.from({ length: 6 }, () => [1.5, -2, 7]));
    const before = c.data.slice();
    const f = addDeltas(c);
    expect(Array.from(f.data.filter((_, i) => i % 9 >= 3))).toEqual(new Array(36).fill(0));
    expect(Array.from(c.data)).toEqual(Array.from(before));

    const one = addDeltas(matrixFromRows([[1, 2]]));
    expect(Array.from(one.data)).toEqual([1, 2, 0, 0, 0, 0]);
    const none = addDeltas(createMatrix(0, 13));
    expect(none.frames).toBe(0);
    expect(none.dim).toBe(39);
  });

  it('rejects a bad window', () => {
    expect(() => addDeltas(createMatrix(3, 2), 0)).toThrow();
    expect(() => addDeltas(createMatrix(3, 2), 1.5)).toThrow();
  });
});
