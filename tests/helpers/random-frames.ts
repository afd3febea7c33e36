import { makeRng } from '../../src/util/rng.js';
import type { Frames } from '../../src/model/batch.js';

/** Deterministic pseudo-random feature matrices of the given lengths. */
export function randomFrames(lengths: number[], dim: number, seed: number): Frames[] {
  const rng = makeRng(seed);
  return lengths.map((frames) => {
    const data = new Float32Array(frames * dim);
    for (let i = 0; i < data.length; i++) data[i] = 2 * rng() - 1;
    return { frames, dim, data };
  });
}
