/**
 * The few operations whose speed decides training speed on the wasm backend, in two
 * interchangeable flavours:
 *  - `fastKernels`: plain rank-2 matMuls with custom gradients that transpose explicitly
 *    and a hand-written LSTM backward pass (see ../shared/notes/tfjs-wasm.md: automatic
 *    gradients produce transposed matMuls that run 10-40x slower on wasm);
 *  - `referenceKernels`: the straightforward version with automatic gradients, kept to
 *    check the hand-written gradients and as the benchmark's baseline.
 */
import * as tf from '@tensorflow/tfjs';
import { lstmFast, lstmReference, type LstmArgs } from './lstm.js';

export interface Kernels {
  readonly name: 'fast' | 'reference';
  /** x [N, D] @ w [D, K]. */
  linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;
  /** One LSTM direction over a time-major sequence; returns hidden states [T*B, H]. */
  lstm(args: LstmArgs): tf.Tensor2D;
}

/**
 * Transposes of the weight variables, shared by every use of a weight within one backward pass.
 * A decoder weight is used once per output character; a fresh transpose each time costs the
 * transpose itself plus the matMul's weight packing (XNNPACK caches the packed form per
 * tensor): ~4-10 ms against ~0.5 ms for [8, 1024] x [1024, 671] on wasm. One entry per
 * variable, recomputed when the variable's data changes (an optimizer update); released by
 * releaseTransposes() after each gradient computation so that they do not outlive it.
 */
const transposes = new Map<tf.Variable, { data: object; t: tf.Tensor2D }>();

function transposeOf(w: tf.Variable): tf.Tensor2D {
  const cached = transposes.get(w);
  if (cached && cached.data === w.dataId) return cached.t;
  cached?.t.dispose();
  const t = tf.keep(tf.transpose(w as tf.Tensor2D));
  transposes.set(w, { data: w.dataId, t });
  return t;
}

/** Free the cached transposes. */
export function releaseTransposes(): void {
  for (const { t } of transposes.values()) t.dispose();
  transposes.clear();
}

/** Matrix product whose gradients are plain rank-2 products of explicitly transposed operands. */
export function linearFast(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  // Tensors the backward pass needs must go through `save` (the forward runs in its own tidy),
  // except a variable, which no tidy disposes: saving copies it (a copy of a decoder weight
  // per output character), and its transpose is cached.
  const variable = w instanceof tf.Variable ? w : undefined;
  const op = tf.customGrad((a, b, save) => {
    (save as tf.GradSaveFunc)(variable ? [a as tf.Tensor] : [a as tf.Tensor, b as tf.Tensor]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const xa = saved[0] as tf.Tensor2D;
        const dy2 = dy as tf.Tensor2D;
        const wT = variable ? transposeOf(variable) : tf.transpose(saved[1] as tf.Tensor2D);
        return [tf.matMul(dy2, wT), tf.matMul(tf.transpose(xa), dy2)];
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}

export const fastKernels: Kernels = { name: 'fast', linear: linearFast, lstm: lstmFast };

export const referenceKernels: Kernels = {
  name: 'reference',
  linear: (x, w) => tf.matMul(x, w),
  lstm: lstmReference,
};
