/**
 * What the hand-written backward passes (kernels.ts, lstm.ts) share: keeping their inputs for the
 * backward pass without copying weight variables, and one transpose per weight per backward pass.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Keep `tensors` for a custom gradient's backward pass. The forward runs in its own tidy, so
 * intermediate tensors must go through `save` (which copies them on wasm); variables, which no
 * tidy disposes, are kept as they are (saving one copies a whole weight, once per call).
 * Returns what gives them back, in order, from the backward pass's `saved` list.
 */
export function saveForBackward(save: tf.GradSaveFunc, tensors: readonly tf.Tensor[]): (saved: tf.Tensor[]) => tf.Tensor[] {
  const isVariable = tensors.map((t) => t instanceof tf.Variable);
  save(tensors.filter((_, i) => !isVariable[i]));
  return (saved) => {
    let k = 0;
    return tensors.map((t, i) => (isVariable[i] ? t : (saved[k++] as tf.Tensor)));
  };
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

/** The transpose of a rank-2 weight: cached for a variable, computed for any other tensor. */
export function transposeOf(w: tf.Tensor2D): tf.Tensor2D {
  if (!(w instanceof tf.Variable)) return tf.transpose(w);
  const cached = transposes.get(w);
  if (cached && cached.data === w.dataId) return cached.t;
  cached?.t.dispose();
  const t = tf.keep(tf.transpose(w));
  transposes.set(w, { data: w.dataId, t });
  return t;
}

/** Free the cached transposes. */
export function releaseTransposes(): void {
  for (const { t } of transposes.values()) t.dispose();
  transposes.clear();
}
