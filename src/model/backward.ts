/**
 * What the hand-written kernels (kernels.ts, lstm.ts, decoder-train.ts) share: keeping their inputs
 * for the backward pass without copying weight variables, one transpose per weight per backward
 * pass, and products of values held in JS with a weight.
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

/** values (row-major, `rows` rows) @ m for a state held in JS: one tensor in, one matMul, values out. */
export function timesMatrix(values: Float32Array, rows: number, m: tf.Tensor2D): Float32Array {
  const v = tf.tensor2d(values, [rows, values.length / rows]);
  const product = tf.matMul(v, m);
  const out = product.dataSync() as Float32Array;
  tf.dispose([v, product]);
  return out;
}

/**
 * x^T @ dy ([N, P] and [N, Q] -> [P, Q]), the weight gradient of y = x @ w, via explicit transposes
 * (matMul's transpose flags take a path 10-40x slower on wasm). The wasm matMul packs its
 * right-hand operand anew for every fresh tensor (~15 ms for [4800, 512]), so the narrower of
 * the two goes on the right: (dy^T @ x)^T when dy is wider than x.
 */
export function weightGradient(x: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  if (dy.shape[1] <= x.shape[1]) return tf.tidy(() => tf.matMul(tf.transpose(x), dy));
  return tf.tidy(() => tf.transpose(tf.matMul(tf.transpose(dy), x)) as tf.Tensor2D);
}
