/**
 * Attention and the character LSTM decoder ("speller"). One call of `decoderStep` advances
 * every utterance of the batch by one character; training, greedy and beam search share it.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.js';
import type { EncoderOutput } from './encoder.js';
import type { Kernels } from './kernels.js';
import type { ModelParams } from './params.js';

/** What attention looks at, computed once per utterance batch. */
export interface AttentionMemory {
  /** Encoder states [B, T', D]. */
  states: tf.Tensor3D;
  /** Their projection into the attention space, bias included [B, T', A]. */
  keys: tf.Tensor3D;
  /** 0 at real frames, a large negative number at padding [B, T']. */
  maskBias: tf.Tensor2D;
  /** Real frames divided uniformly [B, T'] (the initial alignment). */
  uniform: tf.Tensor2D;
  /** Location-aware attention: [T', T'*k] 0/1 matrix that unfolds an alignment into windows. */
  windows?: tf.Tensor2D;
  batch: number;
  steps: number;
}

export interface DecoderState {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
  /** Attention context of the previous step [B, D]. */
  context: tf.Tensor2D;
  /** Attention weights of the previous step [B, T']. */
  alignment: tf.Tensor2D;
}

export interface StepResult {
  logits: tf.Tensor2D;
  state: DecoderState;
}

/** A [T, T*k] matrix W with (a @ W)[b, t*k + o] = a[b, t + o - (k-1)/2] (zero outside). */
export function windowMatrix(steps: number, kernel: number): tf.Tensor2D {
  const half = (kernel - 1) / 2;
  const values = new Float32Array(steps * steps * kernel);
  for (let t = 0; t < steps; t++) {
    for (let o = 0; o < kernel; o++) {
      const j = t + o - half;
      if (j >= 0 && j < steps) values[j * steps * kernel + t * kernel + o] = 1;
    }
  }
  return tf.tensor2d(values, [steps, steps * kernel]);
}

export function prepareMemory(cfg: ModelConfig, params: ModelParams, kernels: Kernels, enc: EncoderOutput): AttentionMemory {
  const [batch, steps, dim] = enc.states.shape;
  const flat = tf.reshape(enc.states, [batch * steps, dim]) as tf.Tensor2D;
  const keys = tf.reshape(tf.add(kernels.linear(flat, params.get('att.wk') as tf.Tensor2D), params.get('att.b')), [
    batch,
    steps,
    cfg.attentionDim,
  ]) as tf.Tensor3D;
  const bias = new Float32Array(batch * steps);
  const uniform = new Float32Array(batch * steps);
  enc.lengths.forEach((len, b) => {
    for (let t = 0; t < steps; t++) {
      bias[b * steps + t] = t < len ? 0 : -1e9;
      uniform[b * steps + t] = t < len ? 1 / len : 0;
    }
  });
  return {
    states: enc.states,
    keys,
    maskBias: tf.tensor2d(bias, [batch, steps]),
    uniform: tf.tensor2d(uniform, [batch, steps]),
    windows: cfg.attention === 'location' ? windowMatrix(steps, cfg.locationKernel) : undefined,
    batch,
    steps,
  };
}

/** Weighted sum of encoder states: [B, T'] x [B, T', D] -> [B, D]. */
function contextOf(mem: AttentionMemory, alignment: tf.Tensor2D): tf.Tensor2D {
  return tf.sum(tf.mul(tf.expandDims(alignment, 2), mem.states), 1) as tf.Tensor2D;
}

/** The decoder starts from the encoder: uniform attention gives the mean state, which sets h and c. */
export function initialState(cfg: ModelConfig, params: ModelParams, kernels: Kernels, mem: AttentionMemory): DecoderState {
  const context = contextOf(mem, mem.uniform);
  const hc = tf.tanh(tf.add(kernels.linear(context, params.get('dec.init.w') as tf.Tensor2D), params.get('dec.init.b')));
  const [h, c] = tf.split(hc, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  return { h, c, context, alignment: mem.uniform };
}

/**
 * tanh(x) = 2 sigmoid(2x) - 1. On the wasm backend tanh is not vectorized (~17x slower than
 * sigmoid per element), and this is the largest tanh of a decoder step ([B, T', A]).
 */
function tanhViaSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

/** Additive (Bahdanau) or location-aware (Chorowski) attention for query h. */
function attend(cfg: ModelConfig, params: ModelParams, kernels: Kernels, mem: AttentionMemory, h: tf.Tensor2D, previous: tf.Tensor2D): tf.Tensor2D {
  const { batch, steps } = mem;
  const a = cfg.attentionDim;
  const query = tf.expandDims(kernels.linear(h, params.get('att.wq') as tf.Tensor2D), 1);
  let pre: tf.Tensor = tf.add(mem.keys, query);
  if (mem.windows) {
    const windows = tf.reshape(kernels.linear(previous, mem.windows), [batch * steps, cfg.locationKernel]) as tf.Tensor2D;
    pre = tf.add(pre, tf.reshape(kernels.linear(windows, params.get('att.wloc') as tf.Tensor2D), [batch, steps, a]));
  }
  const energy = tf.reshape(tanhViaSigmoid(pre), [batch * steps, a]) as tf.Tensor2D;
  const scores = tf.reshape(kernels.linear(energy, params.get('att.v') as tf.Tensor2D), [batch, steps]);
  return tf.softmax(tf.add(scores, mem.maskBias)) as tf.Tensor2D;
}

/** The decoder's input: one-hot rows [B, V] for a list of symbol ids. */
export function oneHotInputs(ids: readonly number[], vocab: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(ids as number[], 'int32'), vocab).toFloat() as tf.Tensor2D;
}

/** Advance the decoder by one character; `input` is the previous character as one-hot [B, V]. */
export function decoderStep(
  cfg: ModelConfig,
  params: ModelParams,
  kernels: Kernels,
  mem: AttentionMemory,
  state: DecoderState,
  input: tf.Tensor2D,
): StepResult {
  const z = tf.add(
    kernels.linear(tf.concat([input, state.context, state.h], 1), params.get('dec.w') as tf.Tensor2D),
    params.get('dec.b'),
  );
  const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tf.Tensor2D[];
  const c = tf.add(tf.mul(tf.sigmoid(zf as tf.Tensor2D), state.c), tf.mul(tf.sigmoid(zi as tf.Tensor2D), tf.tanh(zg as tf.Tensor2D))) as tf.Tensor2D;
  const h = tf.mul(tf.sigmoid(zo as tf.Tensor2D), tf.tanh(c)) as tf.Tensor2D;
  const alignment = attend(cfg, params, kernels, mem, h, state.alignment);
  const context = contextOf(mem, alignment);
  const hidden = tf.tanh(tf.add(kernels.linear(tf.concat([h, context], 1), params.get('out.w1') as tf.Tensor2D), params.get('out.b1'))) as tf.Tensor2D;
  const logits = tf.add(kernels.linear(hidden, params.get('out.w2') as tf.Tensor2D), params.get('out.b2')) as tf.Tensor2D;
  return { logits, state: { h, c, context, alignment } };
}

export function disposeState(state: DecoderState): void {
  tf.dispose([state.h, state.c, state.context, state.alignment]);
}

export function disposeMemory(mem: AttentionMemory): void {
  tf.dispose([mem.states, mem.keys, mem.maskBias, mem.uniform]);
  if (mem.windows) mem.windows.dispose();
}

/** Gather rows of a decoder state (beam search reorders hypotheses). */
export function selectState(state: DecoderState, rows: readonly number[]): DecoderState {
  const idx = tf.tensor1d(rows as number[], 'int32');
  const pick = <T extends tf.Tensor>(t: T): T => tf.gather(t, idx) as T;
  return { h: pick(state.h), c: pick(state.c), context: pick(state.context), alignment: pick(state.alignment) };
}

/** The memory of a single utterance repeated `n` times along the batch axis. */
export function repeatMemory(mem: AttentionMemory, n: number): AttentionMemory {
  if (mem.batch !== 1) throw new Error('repeatMemory expects the memory of one utterance');
  return {
    states: tf.tile(mem.states, [n, 1, 1]),
    keys: tf.tile(mem.keys, [n, 1, 1]),
    maskBias: tf.tile(mem.maskBias, [n, 1]),
    uniform: tf.tile(mem.uniform, [n, 1]),
    windows: mem.windows ? tf.clone(mem.windows) : undefined,
    batch: n,
    steps: mem.steps,
  };
}
