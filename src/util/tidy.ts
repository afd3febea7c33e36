import * as tf from '@tensorflow/tfjs';

/**
 * tf.tidy for functions that return structured results (interfaces of tensors and numbers):
 * every tensor reachable from the result is kept, everything else made inside is disposed.
 */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
