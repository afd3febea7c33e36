/**
 * Length-bucketed batches sized by total padded frames, so that memory per step stays
 * bounded whatever the utterance lengths (wasm caps an instance at 4 GB).
 */
import { shuffleInPlace, type Rng } from '../util/rng.js';

/**
 * Group items (by their frame counts) into batches of similar length with
 * count * longest <= maxFrames and count <= maxUtterances. With `rng`, lengths are
 * jittered before sorting and the batch order is shuffled; without it, batches come
 * shortest first (a curriculum).
 */
export function makeBatches(frames: readonly number[], maxFrames: number, maxUtterances: number, rng?: Rng): number[][] {
  const order = frames.map((f, i) => ({ i, key: rng ? f * (1 + 0.1 * (rng() - 0.5)) : f }));
  order.sort((a, b) => a.key - b.key || a.i - b.i);
  const batches: number[][] = [];
  let current: number[] = [];
  let longest = 0;
  for (const { i } of order) {
    const f = frames[i] as number;
    const nextLongest = Math.max(longest, f);
    if (current.length > 0 && ((current.length + 1) * nextLongest > maxFrames || current.length >= maxUtterances)) {
      batches.push(current);
      current = [];
      longest = 0;
    }
    current.push(i);
    longest = Math.max(longest, f);
  }
  if (current.length > 0) batches.push(current);
  return rng ? shuffleInPlace(batches, rng) : batches;
}
