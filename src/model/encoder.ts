/**
 * Pyramidal bidirectional LSTM encoder ("listener"). Works time-major on flattened
 * [T*B, D] tensors so that every product is a plain rank-2 matMul; each of the first
 * log2(timeReduction) layers first joins neighbouring frame pairs, halving time.
 */
import * as tf from '@tensorflow/tfjs';
import { reductionSteps, type ModelConfig } from './config.js';
import type { Kernels } from './kernels.js';
import type { ModelParams } from './params.js';

export interface EncoderInput {
  /** Features, time-major and flattened: row t*batch + b is frame t of utterance b. */
  x: tf.Tensor2D;
  /** Padded number of frames (a multiple of the time reduction). */
  steps: number;
  batch: number;
  /** Real frames per utterance. */
  lengths: number[];
}

/** The output of one encoder layer, time-major [T*B, 2*units] like the encoder's input. */
export interface LayerOutput {
  x: tf.Tensor2D;
  steps: number;
  lengths: number[];
}

export interface EncoderOutput {
  /** Encoder states, batch-major [B, T', 2*units]. */
  states: tf.Tensor3D;
  steps: number;
  lengths: number[];
  /** Output of the layer that feeds the CTC head (`ctcLayer`), when the model has one. */
  ctcInput?: LayerOutput;
}

/** Round a frame count up to what the pyramid can halve evenly. */
export function paddedSteps(frames: number, timeReduction: number): number {
  return Math.max(timeReduction, Math.ceil(frames / timeReduction) * timeReduction);
}

/** Lengths after one halving: a joined pair is real if either frame was. */
export function halveLengths(lengths: number[]): number[] {
  return lengths.map((n) => Math.ceil(n / 2));
}

/** A time-major [T*B, 1] mask with 1 at real frames. */
export function timeMajorMask(lengths: number[], steps: number): tf.Tensor2D {
  const batch = lengths.length;
  const values = new Float32Array(steps * batch);
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) values[t * batch + b] = t < (lengths[b] as number) ? 1 : 0;
  }
  return tf.tensor2d(values, [steps * batch, 1]);
}

/** [T*B, D] -> [(T/2)*B, 2D]: frames 2k and 2k+1 of each utterance side by side. */
function joinFramePairs(x: tf.Tensor2D, steps: number, batch: number): tf.Tensor2D {
  const dim = x.shape[1];
  const pairs = tf.transpose(tf.reshape(x, [steps / 2, 2, batch, dim]), [0, 2, 1, 3]);
  return tf.reshape(pairs, [(steps / 2) * batch, 2 * dim]);
}

export function encode(cfg: ModelConfig, params: ModelParams, kernels: Kernels, input: EncoderInput): EncoderOutput {
  const { batch } = input;
  let x = input.x;
  let steps = input.steps;
  let lengths = input.lengths;
  if (steps % cfg.timeReduction !== 0) throw new Error(`encoder input of ${steps} frames is not a multiple of ${cfg.timeReduction}`);
  const reductions = reductionSteps(cfg);
  let ctcInput: LayerOutput | undefined;
  for (let l = 0; l < cfg.encoderLayers; l++) {
    if (l < reductions) {
      x = joinFramePairs(x, steps, batch);
      steps /= 2;
      lengths = halveLengths(lengths);
    }
    // No mask at all when every utterance fills every step (e.g. one utterance at a time).
    const mask = Math.min(...lengths) >= steps ? undefined : timeMajorMask(lengths, steps);
    const run = (dir: 'fw' | 'bw'): tf.Tensor2D =>
      kernels.lstm({
        x,
        w: params.get(`enc.${l}.${dir}.w`) as tf.Tensor2D,
        u: params.get(`enc.${l}.${dir}.u`) as tf.Tensor2D,
        b: params.get(`enc.${l}.${dir}.b`) as tf.Tensor1D,
        mask,
        realSteps: Math.min(...lengths),
        steps,
        batch,
        reverse: dir === 'bw',
      });
    x = tf.concat([run('fw'), run('bw')], 1);
    if (l === cfg.ctcLayer) ctcInput = { x, steps, lengths };
  }
  const states = tf.transpose(tf.reshape(x, [steps, batch, x.shape[1]]), [1, 0, 2]) as tf.Tensor3D;
  return { states, steps, lengths, ...(ctcInput ? { ctcInput } : {}) };
}
