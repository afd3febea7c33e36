/**
 * The few operations whose speed decides training speed on the wasm backend, in two
 * interchangeable flavours:
 *  - `fastKernels`: plain rank-2 matMuls with custom gradients that transpose explicitly
 *    and hand-written backward passes for the LSTM and the training decoder (see ../shared/notes/tfjs-wasm.md: automatic
 *    gradients produce transposed matMuls that run 10-40x slower on wasm);
 *  - `referenceKernels`: the straightforward version with automatic gradients, kept to
 *    check the hand-written gradients and as the benchmark's baseline.
 */
import * as tf from '@tensorflow/tfjs';
import { saveForBackward, transposeOf, weightGradient } from './backward.js';
import { decodeTrainingFast, decodeTrainingReference, type TrainingDecode } from './decoder-train.js';
import { lstmFast, lstmReference, type LstmArgs } from './lstm.js';

export interface Kernels {
  readonly name: 'fast' | 'reference';
  /** x [N, D] @ w [D, K]. */
  linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;
  /** One LSTM direction over a time-major sequence; returns hidden states [T*B, H]. */
  lstm(args: LstmArgs): tf.Tensor2D;
  /** The decoder over a whole target sequence in training; logits of every step [S*B, V]. */
  decodeTraining: TrainingDecode;
}

/** Matrix product whose gradients are plain rank-2 products of explicitly transposed operands. */
export function linearFast(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((a, b, save) => {
    const restore = saveForBackward(save as tf.GradSaveFunc, [a as tf.Tensor, b as tf.Tensor]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xa, wb] = restore(saved) as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = dy as tf.Tensor2D;
        return [tf.matMul(dy2, transposeOf(wb)), weightGradient(xa, dy2)];
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}

export const fastKernels: Kernels = { name: 'fast', linear: linearFast, lstm: lstmFast, decodeTraining: decodeTrainingFast };

export const referenceKernels: Kernels = {
  name: 'reference',
  linear: (x, w) => tf.matMul(x, w),
  lstm: lstmReference,
  decodeTraining: decodeTrainingReference,
};
