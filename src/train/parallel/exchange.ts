/**
 * The gradient exchange of data-parallel training, shared by the trainer's thread and the
 * worker threads: every replica copies its shard's gradients into its own slot of shared
 * memory (one flat float32 array over all parameters), then every replica sums all slots
 * itself, in the same order with the same arithmetic, so all replicas get bit-identical
 * gradients and, after the same clipped Adam update, stay bit-identical.
 */
import * as tf from '@tensorflow/tfjs';

/** Where each parameter lies in a flat slot (parameters are treated generically, by name). */
export interface ParamLayout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  /** Floats in one slot. */
  total: number;
}

export function layoutOf(vars: ReadonlyMap<string, tf.Variable>): ParamLayout {
  const layout: ParamLayout = { names: [], shapes: [], offsets: [], total: 0 };
  for (const [name, v] of vars) {
    layout.names.push(name);
    layout.shapes.push([...v.shape]);
    layout.offsets.push(layout.total);
    layout.total += v.size;
  }
  return layout;
}

/** What one replica computed for its shard (null in a slot whose replica had no shard this step). */
export interface ShardSummary {
  tokens: number;
  /** Parameters without a gradient in this shard (they contribute zero). */
  missing: string[];
}

/**
 * Shared slots: two sets (by step parity) of one slot per replica. A replica writes its
 * slot of set `step % 2` only after every replica has finished reading set `(step - 2) % 2`
 * (it cannot get step's job before the previous step's exchange completed everywhere).
 */
export function allocateSlots(layout: ParamLayout, replicas: number): SharedArrayBuffer[] {
  return Array.from({ length: 2 * replicas }, () => new SharedArrayBuffer(layout.total * 4));
}

export function slotViews(buffers: readonly SharedArrayBuffer[], replicas: number, parity: number): Float32Array[] {
  return buffers.slice(parity * replicas, (parity + 1) * replicas).map((b) => new Float32Array(b));
}

/** Copy gradients into a slot; returns the names that had no gradient. */
export function writeSlot(layout: ParamLayout, slot: Float32Array, grads: Record<string, tf.Tensor | undefined>): string[] {
  const missing: string[] = [];
  layout.names.forEach((name, p) => {
    const g = grads[name];
    if (!g) {
      missing.push(name);
      return;
    }
    const values = g.dataSync() as Float32Array;
    const size = (layout.offsets[p + 1] ?? layout.total) - (layout.offsets[p] as number);
    if (values.length !== size) throw new Error(`gradient of "${name}" has ${values.length} values, expected ${size}`);
    slot.set(values, layout.offsets[p]);
  });
  return missing;
}

/**
 * The gradient of the whole batch's mean loss: each shard's gradient weighted by its share of
 * the target characters. Summed in slot order into fresh (unshared) memory, so the tensors
 * never alias a slot. Parameters without a gradient in any shard are left out, as in
 * single-worker training.
 */
export function reduceSlots(layout: ParamLayout, slots: readonly Float32Array[], shards: readonly (ShardSummary | null)[]): Record<string, tf.Tensor> {
  const total = shards.reduce((n, s) => n + (s?.tokens ?? 0), 0);
  const out = new Float32Array(layout.total);
  const grads: Record<string, tf.Tensor> = {};
  layout.names.forEach((name, p) => {
    const start = layout.offsets[p] as number;
    const end = layout.offsets[p + 1] ?? layout.total;
    const src: Float32Array[] = [];
    const ws: number[] = [];
    shards.forEach((shard, k) => {
      if (!shard || shard.missing.includes(name)) return;
      src.push(slots[k] as Float32Array);
      ws.push(shard.tokens / total);
    });
    if (src.length === 0) return;
    // One pass over two slots at a time (the common case is exactly two).
    const [a, b] = src as [Float32Array, Float32Array | undefined];
    const [wa, wb] = ws as [number, number | undefined];
    if (b === undefined) for (let i = start; i < end; i++) out[i] = wa * (a[i] as number);
    else for (let i = start; i < end; i++) out[i] = wa * (a[i] as number) + (wb as number) * (b[i] as number);
    for (let k = 2; k < src.length; k++) {
      const s = src[k] as Float32Array;
      const w = ws[k] as number;
      for (let i = start; i < end; i++) out[i] = (out[i] as number) + w * (s[i] as number);
    }
    grads[name] = tf.tensor(out.subarray(start, end), layout.shapes[p]);
  });
  return grads;
}

/** A hash of the weights' bits (FNV-1a over 32-bit words), to check that replicas agree. */
export function weightsChecksum(layout: ParamLayout, vars: ReadonlyMap<string, tf.Variable>): number {
  let h = 0x811c9dc5;
  for (const name of layout.names) {
    const a = (vars.get(name) as tf.Variable).dataSync() as Float32Array;
    const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ (u[i] as number), 0x01000193);
  }
  return h >>> 0;
}
