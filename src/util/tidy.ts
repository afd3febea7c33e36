import * as tf from '@tensorflow/tfjs';

/**
 * tf.tidy for functions that return structured results (interfaces of tensors and numbers):
 * every tensor reachable from the result is kept, everything else made inside is disposed.
 */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

/**
 * The values of the tensor `fn` computes, everything made inside disposed. (Returning the values
 * from tf.tidy instead would walk every element of the array looking for tensors: slow.)
 */
export function valuesOf(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}
