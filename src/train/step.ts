/** One optimization step: gradients of the sequence loss, global-norm clipping, Adam. */
import * as tf from '@tensorflow/tfjs';
import type { Frames } from '../model/batch.js';
import { releaseTransposes } from '../model/backward.js';
import type { LossOptions, Seq2Seq } from '../model/seq2seq.js';
import type { Adam } from './adam.js';

export interface Gradients {
  loss: number;
  tokens: number;
  sampledInputs: number;
  /** The CTC part of the loss (per target character), when training with a CTC weight. */
  ctcLoss?: number;
  /** Gradients keyed by parameter name (caller disposes). */
  grads: Record<string, tf.Tensor>;
}

/** Loss and gradients for one batch, without updating anything. */
export function computeGradients(model: Seq2Seq, frames: readonly Frames[], targets: readonly (readonly number[])[], opts: LossOptions): Gradients {
  let tokens = 0;
  let sampledInputs = 0;
  let ctcLoss: number | undefined;
  const names = [...model.params.vars.keys()];
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    result = tf.variableGrads(() => {
      const r = model.loss(frames, targets, opts);
      tokens = r.tokens;
      sampledInputs = r.sampledInputs;
      ctcLoss = r.ctcLoss;
      return r.loss;
    }, model.params.list());
  } finally {
    releaseTransposes();
  }
  const { value, grads } = result;
  const byName: Record<string, tf.Tensor> = {};
  names.forEach((name) => {
    // A parameter the loss does not use (e.g. a CTC head trained with ctcWeight 0) has no gradient.
    const g = grads[model.params.get(name).name];
    if (g) byName[name] = g;
  });
  const loss = value.dataSync()[0] as number;
  value.dispose();
  return { loss, tokens, sampledInputs, ...(ctcLoss === undefined ? {} : { ctcLoss }), grads: byName };
}

/** Global L2 norm of a set of gradients. */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return Math.sqrt(tf.addN(squares).dataSync()[0] as number);
  });
}

export interface UpdateResult {
  gradNorm: number;
  /** False when the gradients were not finite and no update was made. */
  applied: boolean;
}

/** Clip to `clipNorm` and apply with Adam. Disposes the gradients. */
export function applyGradients(model: Seq2Seq, optimizer: Adam, grads: Record<string, tf.Tensor>, learningRate: number, clipNorm: number): UpdateResult {
  const gradNorm = globalNorm(grads);
  const applied = Number.isFinite(gradNorm);
  if (applied) {
    const scale = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
    const scaled: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) scaled[name] = scale === 1 ? g : tf.mul(g, scale);
    optimizer.apply(model.params.vars, scaled, learningRate);
    if (scale !== 1) tf.dispose(Object.values(scaled));
  }
  tf.dispose(Object.values(grads));
  return { gradNorm, applied };
}
