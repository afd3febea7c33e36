import * as tf from '@tensorflow/tfjs';

/**
 * Split a [n*rows, cols] tensor into n [rows, cols] pieces. tfjs's split copies its whole
 * input once per output on wasm, so a long split is done in two levels of ~sqrt(n) chunks.
 */
export function splitRows(x: tf.Tensor2D, n: number): tf.Tensor2D[] {
  if (n <= 16) return tf.split(x, n, 0) as tf.Tensor2D[];
  const rows = x.shape[0] / n;
  const per = Math.ceil(Math.sqrt(n));
  const sizes: number[] = [];
  for (let left = n; left > 0; left -= per) sizes.push(Math.min(per, left));
  const chunks = tf.split(x, sizes.map((s) => s * rows), 0) as tf.Tensor2D[];
  const out: tf.Tensor2D[] = [];
  chunks.forEach((chunk, i) => {
    const count = sizes[i] as number;
    if (count === 1) out.push(chunk);
    else out.push(...(tf.split(chunk, count, 0) as tf.Tensor2D[]));
  });
  return out;
}
