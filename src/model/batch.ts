/** Packing utterances into the time-major padded layout the model works on. */
import * as tf from '@tensorflow/tfjs';
import { paddedSteps, type EncoderInput } from './encoder.js';

/** Frames of one utterance: `frames` rows of `dim` features, row-major. */
export interface Frames {
  frames: number;
  dim: number;
  data: Float32Array;
}

/** Features of B utterances, padded with zeros (the normalized mean) to a common length. */
export function packFeatures(utterances: readonly Frames[], timeReduction: number): EncoderInput {
  if (utterances.length === 0) throw new Error('cannot pack an empty batch');
  const dim = (utterances[0] as Frames).dim;
  const batch = utterances.length;
  const lengths = utterances.map((u) => {
    if (u.dim !== dim) throw new Error(`feature dimension mismatch in batch (${u.dim} vs ${dim})`);
    if (u.frames < 1) throw new Error('an utterance has no feature frames');
    return u.frames;
  });
  const steps = paddedSteps(Math.max(...lengths), timeReduction);
  const values = new Float32Array(steps * batch * dim);
  utterances.forEach((u, b) => {
    for (let t = 0; t < u.frames; t++) {
      values.set(u.data.subarray(t * dim, (t + 1) * dim), (t * batch + b) * dim);
    }
  });
  return { x: tf.tensor2d(values, [steps * batch, dim]), steps, batch, lengths };
}
