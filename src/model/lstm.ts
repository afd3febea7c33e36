/**
 * One direction of an LSTM layer over a time-major, flattened sequence x [T*B, D]
 * (row t*B + b is frame t of utterance b). Frames past an utterance's end are masked:
 * the state is carried through unchanged, so a backward-running LSTM starts at each
 * utterance's last real frame.
 *
 * Gate order in W [D,4H], U [H,4H], b [4H]: input, forget, cell candidate, output.
 */
import * as tf from '@tensorflow/tfjs';
import { sigmoid, tanh } from './activations.js';
import { saveForBackward, timesMatrix, transposeOf, weightGradient } from './backward.js';

export interface LstmArgs {
  x: tf.Tensor2D;
  w: tf.Tensor2D;
  u: tf.Tensor2D;
  b: tf.Tensor1D;
  /** [T*B, 1] with exactly 1 for real frames and 0 for padding; undefined means all real. */
  mask?: tf.Tensor2D;
  /** Steps before this one are real in every utterance, so masking is skipped there (default 0). */
  realSteps?: number;
  steps: number;
  batch: number;
  /** Run from the last frame to the first. Outputs stay in time order. */
  reverse: boolean;
}

function timeOrder(steps: number, reverse: boolean): number[] {
  const order = Array.from({ length: steps }, (_, t) => t);
  return reverse ? order.reverse() : order;
}

/** Values of one direction's forward pass that the backward pass reads, time-major like the input. */
interface ForwardTrace {
  /** Gate activations i, f, g, o of every step [T*B, 4H]. */
  gates: Float32Array;
  /** tanh of the (unmasked) new cell state [T*B, H]. */
  tanhC: Float32Array;
  /** Cell and hidden state entering each step [T*B, H]. */
  cPrev: Float32Array;
  hPrev: Float32Array;
  /** 1 at real frames, 0 at padding [T*B] (all 1 without a mask). */
  real: Float32Array;
}

/**
 * Forward pass. Only the matrix products run as tensor ops; the gates of each step are
 * computed in plain JS on [B, 4H] values: one step is then 2 kernel calls instead of ~17,
 * and per-kernel overhead (allocation, bookkeeping) was most of the cost of these small
 * tensors on wasm.
 */
function lstmForward(args: LstmArgs): { output: tf.Tensor2D; trace: ForwardTrace } {
  const { x, w, u, b, mask, steps, batch, reverse } = args;
  const units = u.shape[0];
  const cells = batch * units;
  // (Not via tf.tidy: it would walk every element of a returned array looking for tensors.)
  const xw = tf.matMul(x, w);
  const xwb = tf.add(xw, b);
  const pre = xwb.dataSync() as Float32Array;
  tf.dispose([xw, xwb]);
  const real = new Float32Array(steps * batch).fill(1);
  if (mask) {
    const m = mask.dataSync();
    for (let r = (args.realSteps ?? 0) * batch; r < steps * batch; r++) real[r] = m[r] as number;
  }
  const trace: ForwardTrace = {
    gates: new Float32Array(steps * batch * 4 * units),
    tanhC: new Float32Array(steps * cells),
    cPrev: new Float32Array(steps * cells),
    hPrev: new Float32Array(steps * cells),
    real,
  };
  const output = new Float32Array(steps * cells);
  let h = new Float32Array(cells);
  let c = new Float32Array(cells);
  let first = true;
  for (const t of timeOrder(steps, reverse)) {
    const recurrent = first ? undefined : timesMatrix(h, batch, u);
    first = false;
    trace.hPrev.set(h, t * cells);
    trace.cPrev.set(c, t * cells);
    const hNew = new Float32Array(cells);
    const cNew = new Float32Array(cells);
    const { gates, tanhC } = trace;
    for (let bi = 0; bi < batch; bi++) {
      const isReal = real[t * batch + bi] === 1;
      const zRow = (t * batch + bi) * 4 * units;
      const rRow = bi * 4 * units;
      const cRow = bi * units;
      const tRow = t * cells + cRow;
      for (let j = 0; j < units; j++) {
        let zi = pre[zRow + j] as number;
        let zf = pre[zRow + units + j] as number;
        let zg = pre[zRow + 2 * units + j] as number;
        let zo = pre[zRow + 3 * units + j] as number;
        if (recurrent) {
          zi += recurrent[rRow + j] as number;
          zf += recurrent[rRow + units + j] as number;
          zg += recurrent[rRow + 2 * units + j] as number;
          zo += recurrent[rRow + 3 * units + j] as number;
        }
        const i = sigmoid(zi);
        const f = sigmoid(zf);
        const g = tanh(zg);
        const o = sigmoid(zo);
        const cOld = c[cRow + j] as number;
        const cell = f * cOld + i * g;
        const tc = tanh(cell);
        gates[zRow + j] = i;
        gates[zRow + units + j] = f;
        gates[zRow + 2 * units + j] = g;
        gates[zRow + 3 * units + j] = o;
        tanhC[tRow + j] = tc;
        // Padding frames carry the state through unchanged.
        cNew[cRow + j] = isReal ? cell : cOld;
        hNew[cRow + j] = isReal ? o * tc : (h[cRow + j] as number);
      }
    }
    output.set(hNew, t * cells);
    h = hNew;
    c = cNew;
  }
  return { output: tf.tensor2d(output, [steps * batch, units]), trace };
}

/**
 * LSTM with a hand-written backward pass (BPTT over the traced gates): per step one
 * [B, 4H] x [4H, H] product as a tensor op, the rest in JS; the weight gradients are
 * three large rank-2 products at the end.
 */
export function lstmFast(args: LstmArgs): tf.Tensor2D {
  const { steps, batch, reverse } = args;
  const hasMask = args.mask !== undefined;
  // The traced gate values are plain arrays held by the closure; the tensors go through saveForBackward.
  const op = tf.customGrad((...inputs) => {
    const [x, w, u, b] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const mask = hasMask ? (inputs[4] as tf.Tensor2D) : undefined;
    const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
    const { output, trace } = lstmForward({ ...args, x, w, u, b, mask });
    const restore = saveForBackward(save, [x, w, u]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sx, sw, su] = restore(saved) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const units = su.shape[0];
      const cells = batch * units;
      const dOut = dy.dataSync() as Float32Array;
      const uT = transposeOf(su);
      const zBlock = batch * 4 * units;
      const dZ = new Float32Array(steps * zBlock);
      // Gradient reaching h and c from the step after.
      let dh = new Float32Array(cells);
      let dc = new Float32Array(cells);
      const { gates, tanhC, cPrev, real } = trace;
      const backwardOrder = timeOrder(steps, !reverse);
      // Walk the steps in the opposite order to the forward pass.
      backwardOrder.forEach((t, n) => {
        const dhNext = new Float32Array(cells);
        const dcNext = new Float32Array(cells);
        for (let bi = 0; bi < batch; bi++) {
          const zRow = (t * batch + bi) * 4 * units;
          const cRow = bi * units;
          const tRow = t * cells + cRow;
          if (real[t * batch + bi] !== 1) {
            // Padding passes the state through unchanged, and so its gradient.
            for (let j = 0; j < units; j++) {
              dhNext[cRow + j] = (dOut[tRow + j] as number) + (dh[cRow + j] as number);
              dcNext[cRow + j] = dc[cRow + j] as number;
            }
            continue;
          }
          for (let j = 0; j < units; j++) {
            const gh = (dOut[tRow + j] as number) + (dh[cRow + j] as number);
            const i = gates[zRow + j] as number;
            const f = gates[zRow + units + j] as number;
            const g = gates[zRow + 2 * units + j] as number;
            const o = gates[zRow + 3 * units + j] as number;
            const tc = tanhC[tRow + j] as number;
            // dL/dc_new = carried dc + through h = o * tanh(c)
            const dcNew = gh * o * (1 - tc * tc) + (dc[cRow + j] as number);
            dZ[zRow + j] = dcNew * g * i * (1 - i);
            dZ[zRow + units + j] = dcNew * (cPrev[tRow + j] as number) * f * (1 - f);
            dZ[zRow + 2 * units + j] = dcNew * i * (1 - g * g);
            dZ[zRow + 3 * units + j] = gh * tc * o * (1 - o);
            dcNext[cRow + j] = dcNew * f;
          }
        }
        // Through the recurrent weights: dh_prev += dz @ U^T (the forward's first step saw h = 0).
        if (n < steps - 1) {
          const back = timesMatrix(dZ.subarray(zBlock * t, zBlock * (t + 1)), batch, uT);
          for (let k = 0; k < cells; k++) dhNext[k] = (dhNext[k] as number) + (back[k] as number);
        }
        dh = dhNext;
        dc = dcNext;
      });
      const dZt = tf.tensor2d(dZ, [steps * batch, 4 * units]);
      const hPrev = tf.tensor2d(trace.hPrev, [steps * batch, units]);
      const dx = tf.matMul(dZt, transposeOf(sw));
      const dw = weightGradient(sx, dZt);
      const du = weightGradient(hPrev, dZt);
      const db = tf.sum(dZt, 0);
      return mask ? [dx, dw, du, db, tf.zerosLike(mask)] : [dx, dw, du, db];
    };
    return { value: output, gradFunc };
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
