/**
 * One direction of an LSTM layer over a time-major, flattened sequence x [T*B, D]
 * (row t*B + b is frame t of utterance b). Frames past an utterance's end are masked:
 * the state is carried through unchanged, so a backward-running LSTM starts at each
 * utterance's last real frame.
 *
 * Gate order in W [D,4H], U [H,4H], b [4H]: input, forget, cell candidate, output.
 */
import * as tf from '@tensorflow/tfjs';
import { splitRows } from './split.js';

export interface LstmArgs {
  x: tf.Tensor2D;
  w: tf.Tensor2D;
  u: tf.Tensor2D;
  b: tf.Tensor1D;
  /** [T*B, 1] with 1 for real frames and 0 for padding; undefined means all real. */
  mask?: tf.Tensor2D;
  /** Steps before this one are real in every utterance, so masking is skipped there (default 0). */
  realSteps?: number;
  steps: number;
  batch: number;
  /** Run from the last frame to the first. Outputs stay in time order. */
  reverse: boolean;
}

interface StepCache {
  i: tf.Tensor2D;
  f: tf.Tensor2D;
  g: tf.Tensor2D;
  o: tf.Tensor2D;
  tanhC: tf.Tensor2D;
  cPrev: tf.Tensor2D;
  hPrev: tf.Tensor2D;
}

function timeOrder(steps: number, reverse: boolean): number[] {
  const order = Array.from({ length: steps }, (_, t) => t);
  return reverse ? order.reverse() : order;
}

/** Forward pass with the gate values of every step kept for the hand-written backward pass. */
function lstmForward(args: LstmArgs): { output: tf.Tensor2D; caches: StepCache[] } {
  const { x, w, u, b, mask, steps, batch, reverse } = args;
  const units = u.shape[0];
  const inputs = splitRows(tf.add(tf.matMul(x, w), b), steps);
  const masks = mask ? splitRows(mask, steps) : undefined;
  let h = tf.zeros([batch, units]) as tf.Tensor2D;
  let c = tf.zeros([batch, units]) as tf.Tensor2D;
  const outputs: tf.Tensor2D[] = new Array(steps);
  const caches: StepCache[] = new Array(steps);
  for (const t of timeOrder(steps, reverse)) {
    const z = tf.add(inputs[t] as tf.Tensor2D, tf.matMul(h, u));
    const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tf.Tensor2D[];
    const i = tf.sigmoid(zi as tf.Tensor2D);
    const f = tf.sigmoid(zf as tf.Tensor2D);
    const g = tf.tanh(zg as tf.Tensor2D);
    const o = tf.sigmoid(zo as tf.Tensor2D);
    let cNew = tf.add(tf.mul(f, c), tf.mul(i, g)) as tf.Tensor2D;
    const tanhC = tf.tanh(cNew);
    let hNew = tf.mul(o, tanhC) as tf.Tensor2D;
    if (masks && t >= (args.realSteps ?? 0)) {
      const m = masks[t] as tf.Tensor2D;
      cNew = tf.add(c, tf.mul(m, tf.sub(cNew, c)));
      hNew = tf.add(h, tf.mul(m, tf.sub(hNew, h)));
    }
    caches[t] = { i, f, g, o, tanhC, cPrev: c, hPrev: h };
    outputs[t] = hNew;
    h = hNew;
    c = cNew;
  }
  return { output: tf.concat(outputs, 0), caches };
}

const CACHED_PER_STEP = 7;

function flattenCaches(caches: StepCache[]): tf.Tensor[] {
  return caches.flatMap((k) => [k.i, k.f, k.g, k.o, k.tanhC, k.cPrev, k.hPrev]);
}

function unflattenCaches(flat: tf.Tensor[], steps: number): StepCache[] {
  return Array.from({ length: steps }, (_, t) => {
    const [i, f, g, o, tanhC, cPrev, hPrev] = flat.slice(t * CACHED_PER_STEP, (t + 1) * CACHED_PER_STEP) as tf.Tensor2D[];
    return { i, f, g, o, tanhC, cPrev, hPrev } as StepCache;
  });
}

/** LSTM with a hand-written backward pass (BPTT over the cached gates, all products rank-2). */
export function lstmFast(args: LstmArgs): tf.Tensor2D {
  const { steps, reverse } = args;
  const hasMask = args.mask !== undefined;
  // The forward pass runs in its own tidy: everything the backward pass reads goes through `save`.
  const op = tf.customGrad((...inputs) => {
    const [x, w, u, b] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const mask = hasMask ? (inputs[4] as tf.Tensor2D) : undefined;
    const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
    const fwd = lstmForward({ ...args, x, w, u, b, mask });
    save([x, w, u, ...(mask ? [mask] : []), ...flattenCaches(fwd.caches)]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sx, sw, su] = saved as tf.Tensor2D[];
      const sMask = hasMask ? (saved[3] as tf.Tensor2D) : undefined;
      const caches = unflattenCaches(saved.slice(hasMask ? 4 : 3), steps);
      const masks = sMask ? splitRows(sMask, steps) : undefined;
      const dOut = splitRows(dy as tf.Tensor2D, steps);
      const uT = tf.transpose(su as tf.Tensor2D);
      const dz: tf.Tensor2D[] = new Array(steps);
      let dh: tf.Tensor2D | undefined;
      let dc: tf.Tensor2D | undefined;
      // Walk the steps in the opposite order to the forward pass.
      for (const t of timeOrder(steps, !reverse)) {
        const k = caches[t] as StepCache;
        const gh = dh ? tf.add(dOut[t] as tf.Tensor2D, dh) : (dOut[t] as tf.Tensor2D);
        const m = t >= (args.realSteps ?? 0) ? masks?.[t] : undefined;
        const dhNew = m ? tf.mul(m, gh) : gh;
        // dL/dc_new = carried dc (masked) + through h = o * tanh(c)
        let dcNew = tf.mul(tf.mul(dhNew, k.o), tf.sub(1, tf.square(k.tanhC))) as tf.Tensor2D;
        if (dc) dcNew = tf.add(dcNew, m ? tf.mul(m, dc) : dc);
        const di = tf.mul(tf.mul(dcNew, k.g), tf.mul(k.i, tf.sub(1, k.i)));
        const df = tf.mul(tf.mul(dcNew, k.cPrev), tf.mul(k.f, tf.sub(1, k.f)));
        const dg = tf.mul(tf.mul(dcNew, k.i), tf.sub(1, tf.square(k.g)));
        const dO = tf.mul(tf.mul(dhNew, k.tanhC), tf.mul(k.o, tf.sub(1, k.o)));
        const dzt = tf.concat([di, df, dg, dO], 1) as tf.Tensor2D;
        dz[t] = dzt;
        let dhPrev = tf.matMul(dzt, uT) as tf.Tensor2D;
        let dcPrev = tf.mul(dcNew, k.f) as tf.Tensor2D;
        if (m) {
          // Padding frames pass the state through unchanged, and so its gradient.
          const keep = tf.sub(1, m) as tf.Tensor2D;
          dhPrev = tf.add(dhPrev, tf.mul(keep, gh)) as tf.Tensor2D;
          if (dc) dcPrev = tf.add(dcPrev, tf.mul(keep, dc));
        }
        dh = dhPrev;
        dc = dcPrev;
      }
      const dZ = tf.concat(dz, 0) as tf.Tensor2D;
      const hPrev = tf.concat(caches.map((k) => k.hPrev), 0) as tf.Tensor2D;
      const dx = tf.matMul(dZ, tf.transpose(sw as tf.Tensor2D));
      const dw = tf.matMul(tf.transpose(sx as tf.Tensor2D), dZ);
      const du = tf.matMul(tf.transpose(hPrev), dZ);
      const db = tf.sum(dZ, 0);
      return mask ? [dx, dw, du, db, tf.zerosLike(mask)] : [dx, dw, du, db];
    };
    return { value: fwd.output, gradFunc };
  });
  const inputs: tf.Tensor[] = [args.x, args.w, args.u, args.b];
  if (args.mask) inputs.push(args.mask);
  return op(...inputs) as tf.Tensor2D;
}

/** The same LSTM written plainly, differentiated automatically (reference and baseline). */
export function lstmReference(args: LstmArgs): tf.Tensor2D {
  const { x, w, u, b, mask, steps, batch, reverse } = args;
  const units = u.shape[0];
  const inputs = tf.split(tf.add(tf.matMul(x, w), b), steps, 0) as tf.Tensor2D[];
  const masks = mask ? (tf.split(mask, steps, 0) as tf.Tensor2D[]) : undefined;
  let h = tf.zeros([batch, units]) as tf.Tensor2D;
  let c = tf.zeros([batch, units]) as tf.Tensor2D;
  const outputs: tf.Tensor2D[] = new Array(steps);
  for (const t of timeOrder(steps, reverse)) {
    const z = tf.add(inputs[t] as tf.Tensor2D, tf.matMul(h, u));
    const [zi, zf, zg, zo] = tf.split(z, 4, 1) as tf.Tensor2D[];
    let cNew = tf.add(tf.mul(tf.sigmoid(zf as tf.Tensor2D), c), tf.mul(tf.sigmoid(zi as tf.Tensor2D), tf.tanh(zg as tf.Tensor2D))) as tf.Tensor2D;
    let hNew = tf.mul(tf.sigmoid(zo as tf.Tensor2D), tf.tanh(cNew)) as tf.Tensor2D;
    if (masks && t >= (args.realSteps ?? 0)) {
      const m = masks[t] as tf.Tensor2D;
      cNew = tf.add(c, tf.mul(m, tf.sub(cNew, c)));
      hNew = tf.add(h, tf.mul(m, tf.sub(hNew, h)));
    }
    outputs[t] = hNew;
    h = hNew;
    c = cNew;
  }
  return tf.concat(outputs, 0);
}
