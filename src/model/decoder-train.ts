/**
 * The decoder run over a whole target sequence for training (teacher forcing, with scheduled
 * sampling), in two flavours that compute the same thing:
 *  - `decodeTrainingReference`: one `decoderStep` per character, differentiated automatically
 *    (~40 forward and ~190 backward kernel calls per character on wasm);
 *  - `decodeTrainingFast`: one custom-gradient op over all characters with a hand-written
 *    backward pass. The attention's [B, T', A] work and the matrix products run as tensor ops;
 *    the LSTM gates, the softmax and the output layer's tanh run in plain JS; most weight
 *    gradients are one product each over all characters at the end (~15 forward and ~20
 *    backward kernel calls per character). Its training step (reference shape, 16 utterances)
 *    is ~1.2-1.3x faster than with the automatic decoder gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { sigmoid, tanh } from './activations.js';
import { saveForBackward, timesMatrix, transposeOf, weightGradient } from './backward.js';
import type { ModelConfig } from './config.js';
import { decoderStep, oneHotInputs, type AttentionMemory, type DecoderState } from './decoder.js';
import type { Kernels } from './kernels.js';
import type { ModelParams } from './params.js';
import { valuesOf } from '../util/tidy.js';

export interface TrainingDecodeArgs {
  cfg: ModelConfig;
  params: ModelParams;
  mem: AttentionMemory;
  /** The state before the first character (its alignment is a constant: it gets no gradient). */
  init: DecoderState;
  /** Characters to decode (targets + end symbol). */
  steps: number;
  /** Symbol ids fed at the first step (the start symbol). */
  first: readonly number[];
  /**
   * The symbol ids fed at step t + 1, given access to step t's logits (row-major [B, V], read
   * only); not called after the last step. Reading the logits is only needed for scheduled sampling.
   */
  next(t: number, logits: () => Float32Array): readonly number[];
}

/** Logits of every step, step-major [steps * B, V] (row t*B + b). */
export type TrainingDecode = (args: TrainingDecodeArgs, kernels: Kernels) => tf.Tensor2D;

/** The plain version: the inference step in a loop, with automatic gradients. */
export const decodeTrainingReference: TrainingDecode = (args, kernels) => {
  const { cfg, params, mem, steps } = args;
  let state = args.init;
  let input = oneHotInputs(args.first, cfg.vocabSize);
  const logits: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    const out = decoderStep(cfg, params, kernels, mem, state, input);
    state = out.state;
    logits.push(out.logits);
    let values: Float32Array | undefined;
    if (t < steps - 1) input = oneHotInputs(args.next(t, () => (values ??= out.logits.dataSync() as Float32Array)), cfg.vocabSize);
  }
  return tf.concat(logits, 0);
};

/** Values of the forward pass that the backward pass reads (all step-major, row t*B + b). */
interface DecoderTrace {
  /** LSTM input [one-hot, previous context, previous h] per step [S*B, V+D+H]. */
  x: Float32Array;
  /** Gates i, f, g, o [S*B, 4H], tanh of the new cell and the cell entering each step [S*B, H]. */
  gates: Float32Array;
  tanhC: Float32Array;
  cPrev: Float32Array;
  /** [h, context] fed to the output layer [S*B, H+D], and that layer's tanh output [S*B, O]. */
  hc: Float32Array;
  hidden: Float32Array;
  /** Attention sigmoid(2 pre) [S*B*T', A] (tanh(pre) = 2 s - 1), weights [S*B*T'], location windows [S*B*T', K]. */
  sigmoid: Float32Array;
  alignment: Float32Array;
  windows: Float32Array;
}

/** The location features' input: row (b, t) holds alignment[b, t + o - (K-1)/2] for o < K (0 outside). */
function unfoldWindows(alignment: Float32Array, B: number, T: number, K: number, out: Float32Array): void {
  const half = (K - 1) / 2;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * K;
      for (let o = 0; o < K; o++) {
        const j = t + o - half;
        out[row + o] = j >= 0 && j < T ? (alignment[b * T + j] as number) : 0;
      }
    }
  }
}

// The hot loops live in small functions of typed arrays: V8 optimizes those quickly, while one
// large closure holding them all ran its loops unoptimized (~4x slower).

/** LSTM cell: gates from z (without bias) -> gates, tanh(c), new h and c. */
function cellForward(z: Float32Array, bias: Float32Array, cPrev: Float32Array, gates: Float32Array, tanhC: Float32Array, h: Float32Array, c: Float32Array, H: number): void {
  const B = h.length / H;
  for (let b = 0; b < B; b++) {
    const zRow = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid((z[zRow + j] as number) + (bias[j] as number));
      const f = sigmoid((z[zRow + H + j] as number) + (bias[H + j] as number));
      const g = tanh((z[zRow + 2 * H + j] as number) + (bias[2 * H + j] as number));
      const o = sigmoid((z[zRow + 3 * H + j] as number) + (bias[3 * H + j] as number));
      const cell = f * (cPrev[b * H + j] as number) + i * g;
      const tc = tanh(cell);
      gates[zRow + j] = i;
      gates[zRow + H + j] = f;
      gates[zRow + 2 * H + j] = g;
      gates[zRow + 3 * H + j] = o;
      tanhC[b * H + j] = tc;
      c[b * H + j] = cell;
      h[b * H + j] = o * tc;
    }
  }
}

/** LSTM cell backward: gradient at h and at the new c (from later) -> dz (written) and dc for the step before. */
function cellBackward(dh: Float32Array, dcLater: Float32Array, gates: Float32Array, tanhC: Float32Array, cPrev: Float32Array, dz: Float32Array, dcBefore: Float32Array, H: number): void {
  const B = dh.length / H;
  for (let b = 0; b < B; b++) {
    const zRow = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const i = gates[zRow + j] as number;
      const f = gates[zRow + H + j] as number;
      const g = gates[zRow + 2 * H + j] as number;
      const o = gates[zRow + 3 * H + j] as number;
      const tc = tanhC[b * H + j] as number;
      const gh = dh[b * H + j] as number;
      const dc = gh * o * (1 - tc * tc) + (dcLater[b * H + j] as number);
      dz[zRow + j] = dc * g * i * (1 - i);
      dz[zRow + H + j] = dc * (cPrev[b * H + j] as number) * f * (1 - f);
      dz[zRow + 2 * H + j] = dc * i * (1 - g * g);
      dz[zRow + 3 * H + j] = gh * tc * o * (1 - o);
      dcBefore[b * H + j] = dc * f;
    }
  }
}

/** Masked softmax over T' of the scores 2 (s . v) - sum(v) (= tanh(pre) . v) -> alignment [B, T']. */
function softmaxScores(sv: Float32Array, vSum: number, maskBias: Float32Array, alignment: Float32Array, T: number): void {
  const B = alignment.length / T;
  const scores = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    for (let u = 0; u < T; u++) {
      const x = 2 * (sv[b * T + u] as number) - vSum + (maskBias[b * T + u] as number);
      scores[u] = x;
      if (x > max) max = x;
    }
    let total = 0;
    for (let u = 0; u < T; u++) {
      const e = Math.exp((scores[u] as number) - max);
      scores[u] = e;
      total += e;
    }
    for (let u = 0; u < T; u++) alignment[b * T + u] = (scores[u] as number) / total;
  }
}

/** Softmax backward: gradient at the alignment (two parts, summed) -> gradient at the scores. */
function softmaxBackward(dAlign: Float32Array, dAlignLater: Float32Array, alignment: Float32Array, dScores: Float32Array, T: number): void {
  const B = alignment.length / T;
  for (let b = 0; b < B; b++) {
    let dot = 0;
    for (let u = 0; u < T; u++) dot += (alignment[b * T + u] as number) * ((dAlign[b * T + u] as number) + (dAlignLater[b * T + u] as number));
    for (let u = 0; u < T; u++) {
      const k = b * T + u;
      dScores[k] = (alignment[k] as number) * ((dAlign[k] as number) + (dAlignLater[k] as number) - dot);
    }
  }
}

/** [R, C, P] values (row-major) -> [C, R, P]: swaps the two leading axes. */
function swapLeadingAxes(values: Float32Array, R: number, C: number): Float32Array {
  const P = values.length / (R * C);
  const out = new Float32Array(values.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out.set(values.subarray((r * C + c) * P, (r * C + c + 1) * P), (c * R + r) * P);
  return out;
}

/** Backward of unfoldWindows: gradient at the windows [B*T', K] -> gradient at the alignment [B, T']. */
function foldWindows(dWindows: Float32Array, T: number, K: number, dAlignment: Float32Array): void {
  const half = (K - 1) / 2;
  const B = dAlignment.length / T;
  dAlignment.fill(0);
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < T; u++) {
      for (let o = 0; o < K; o++) {
        const j = u + o - half;
        if (j >= 0 && j < T) dAlignment[b * T + j] = (dAlignment[b * T + j] as number) + (dWindows[(b * T + u) * K + o] as number);
      }
    }
  }
}

/** In place: values[r, j] = f(values[r, j] + bias[j]) for rows of bias.length values. */
function addBias(values: Float32Array, bias: Float32Array, squash: boolean): void {
  const n = bias.length;
  for (let k = 0; k < values.length; k++) {
    const x = (values[k] as number) + (bias[k % n] as number);
    values[k] = squash ? tanh(x) : x;
  }
}

/** Step t's block of a step-major array of S steps. */
function stepOf(values: Float32Array, t: number, S: number): Float32Array {
  const n = values.length / S;
  return values.subarray(t * n, (t + 1) * n);
}

/** Columns [from, from + width) of row-major [rows, cols] values. */
function columns(values: Float32Array, rows: number, from: number, width: number): Float32Array {
  const cols = values.length / rows;
  const out = new Float32Array(rows * width);
  for (let b = 0; b < rows; b++) out.set(values.subarray(b * cols + from, b * cols + from + width), b * width);
  return out;
}

/** x^T @ y for step-major traces [N, P] and [N, Q]: a weight gradient over all steps in one product. */
function outerSum(x: Float32Array, y: Float32Array, n: number): tf.Tensor2D {
  return tf.tidy(() => weightGradient(tf.tensor2d(x, [n, x.length / n]), tf.tensor2d(y, [n, y.length / n])));
}

function columnSums(values: Float32Array, rows: number): Float32Array {
  const cols = values.length / rows;
  const out = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) out[j] = (out[j] as number) + (values[r * cols + j] as number);
  return out;
}

/** The hand-written version (see the module comment). */
export const decodeTrainingFast: TrainingDecode = (args) => {
  const { cfg, params, mem, steps: S } = args;
  // (mem.windows, the alignment unfolding as a matrix, is decoderStep's; this path unfolds in JS.)
  const location = cfg.attention === 'location';
  // Whether a backward pass may follow (the loss inside tf.variableGrads, not the validation loss).
  const recording = tf.engine().isTapeOn();
  const weights = ['dec.w', 'dec.b', 'att.wq', 'att.v', 'out.w1', 'out.b1', 'out.w2', 'out.b2', ...(location ? ['att.wloc'] : [])].map((n) => params.get(n));
  const op = tf.customGrad((...inputs) => {
    const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
    const [states, keys, h0, c0, ctx0, wDec, bDec, wq, v, w1, b1, w2, b2] = inputs as tf.Tensor[] as [
      tf.Tensor3D,
      tf.Tensor3D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor2D,
      tf.Tensor1D,
    ];
    const wloc = location ? (inputs[13] as tf.Tensor2D) : undefined;
    const [B, T, D] = states.shape;
    // Without a gradient to come (e.g. the validation loss) the trace is scratch space for one step.
    const slots = recording ? S : 1;
    const slot = (values: Float32Array, t: number): Float32Array => stepOf(values, recording ? t : 0, slots);
    const A = cfg.attentionDim;
    const H = cfg.decoderUnits;
    const V = cfg.vocabSize;
    const O = cfg.outputDim;
    const K = location ? cfg.locationKernel : 0;
    const X = V + D + H;
    const maskBias = mem.maskBias.dataSync() as Float32Array;
    const bDecV = bDec.dataSync() as Float32Array;
    const vV = v.dataSync() as Float32Array;
    const vSum = vV.reduce((x, y) => x + y, 0);
    const b1V = b1.dataSync() as Float32Array;
    const b2V = b2.dataSync() as Float32Array;
    const trace: DecoderTrace = {
      x: new Float32Array(slots * B * X),
      gates: new Float32Array(slots * B * 4 * H),
      tanhC: new Float32Array(slots * B * H),
      cPrev: new Float32Array(slots * B * H),
      hc: new Float32Array(slots * B * (H + D)),
      hidden: new Float32Array(slots * B * O),
      sigmoid: new Float32Array(slots * B * T * A),
      alignment: new Float32Array(S * B * T),
      windows: new Float32Array(slots * B * T * K),
    };
    const logitsAll = new Float32Array(S * B * V);
    // tanh(p) = 2 sigmoid(2p) - 1, and the sigmoid is the fast one on wasm: scaling the three
    // terms of p by 2 (exact in floating point) leaves one sigmoid kernel per step.
    const keys2 = tf.mul(keys, 2);
    const wq2 = tf.mul(wq, 2) as tf.Tensor2D;
    const wloc2 = wloc ? (tf.mul(wloc, 2) as tf.Tensor2D) : undefined;
    // (Read only: each step makes new h, c, context and alignment arrays.)
    let h = h0.dataSync() as Float32Array;
    let c = c0.dataSync() as Float32Array;
    let ctx = ctx0.dataSync() as Float32Array;
    let alignment = args.init.alignment.dataSync() as Float32Array;
    let ids = args.first;
    for (let t = 0; t < S; t++) {
      // LSTM cell on [one-hot input, previous context, previous h].
      const x = slot(trace.x, t);
      if (!recording) x.fill(0);
      for (let b = 0; b < B; b++) {
        x[b * X + (ids[b] as number)] = 1;
        x.set(ctx.subarray(b * D, (b + 1) * D), b * X + V);
        x.set(h.subarray(b * H, (b + 1) * H), b * X + V + D);
      }
      slot(trace.cPrev, t).set(c);
      const cPrev = c;
      h = new Float32Array(B * H);
      c = new Float32Array(B * H);
      cellForward(timesMatrix(x, B, wDec), bDecV, cPrev, slot(trace.gates, t), slot(trace.tanhC, t), h, c, H);
      // Attention: s = sigmoid(2 pre), pre = keys + h Wq [+ windows Wloc]; scores tanh(pre) v = 2 s v - sum(v).
      const previous = alignment;
      alignment = stepOf(trace.alignment, t, S);
      const sv = valuesOf(() => {
        let pre2: tf.Tensor = tf.add(keys2, tf.reshape(tf.matMul(tf.tensor2d(h, [B, H]), wq2), [B, 1, A]));
        if (wloc2) {
          const win = slot(trace.windows, t);
          unfoldWindows(previous, B, T, K, win);
          pre2 = tf.add(pre2, tf.reshape(tf.matMul(tf.tensor2d(win, [B * T, K]), wloc2), [B, T, A]));
        }
        const sig = tf.reshape(tf.sigmoid(pre2), [B * T, A]) as tf.Tensor2D;
        slot(trace.sigmoid, t).set(sig.dataSync() as Float32Array);
        return tf.matMul(sig, v);
      });
      softmaxScores(sv, vSum, maskBias, alignment, T);
      ctx = valuesOf(() => tf.matMul(tf.tensor3d(alignment, [B, 1, T]), states));
      // Output layer: tanh([h, context] W1 + b1) W2 + b2.
      const hc = slot(trace.hc, t);
      for (let b = 0; b < B; b++) {
        hc.set(h.subarray(b * H, (b + 1) * H), b * (H + D));
        hc.set(ctx.subarray(b * D, (b + 1) * D), b * (H + D) + H);
      }
      const hidden = slot(trace.hidden, t);
      hidden.set(timesMatrix(hc, B, w1));
      addBias(hidden, b1V, true);
      const logits = stepOf(logitsAll, t, S);
      logits.set(timesMatrix(hidden, B, w2));
      addBias(logits, b2V, false);
      if (t < S - 1) ids = args.next(t, () => logits);
    }
    tf.dispose([keys2, wq2, ...(wloc2 ? [wloc2] : [])]);
    // The backward pass reads the encoder states as values: tensor inputs are not guaranteed to be
    // alive by then unless saved (and saving copies them).
    const statesV = recording ? (states.dataSync() as Float32Array) : new Float32Array(0);
    const restore = saveForBackward(save, [wDec, wq, w1, w2, ...(wloc ? [wloc] : [])]);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sDec, sq, s1, s2, sloc] = restore(saved) as tf.Tensor2D[];
      const N = S * B;
      const dLogits = dy.dataSync() as Float32Array;
      // The output layer of every step at once.
      const dHidden = timesMatrix(dLogits, N, transposeOf(s2 as tf.Tensor2D));
      for (let k = 0; k < dHidden.length; k++) {
        const y = trace.hidden[k] as number;
        dHidden[k] = (dHidden[k] as number) * (1 - y * y);
      }
      const dHc = timesMatrix(dHidden, N, transposeOf(s1 as tf.Tensor2D));
      const dHOut = columns(dHc, N, 0, H);
      const dCtx = columns(dHc, N, H, D);
      const dZ = new Float32Array(N * 4 * H);
      const dQ = new Float32Array(N * A);
      const dV = new Float64Array(A);
      const wqT = transposeOf(sq as tf.Tensor2D);
      const wlocT = sloc ? transposeOf(sloc) : undefined;
      const wDecT = transposeOf(sDec as tf.Tensor2D);
      const statesT = tf.tidy(() => tf.transpose(tf.tensor3d(statesV, [B, T, D]), [0, 2, 1])) as tf.Tensor3D;
      const v4 = tf.tensor1d(vV.map((x) => 4 * x));
      // Running sums over steps (kept between the steps' tidy scopes): the keys' and Wloc's gradients.
      let dKeys = tf.keep(tf.zeros([B * T, A]));
      let dWloc = location ? tf.keep(tf.zeros([K, A])) : undefined;
      const accumulate = (sum: tf.Tensor, x: tf.Tensor): tf.Tensor => {
        const next = tf.keep(tf.add(sum, x));
        sum.dispose();
        return next;
      };
      // Gradients carried to the step before: into its h, c, context (LSTM input) and alignment (location).
      let dhLater: Float32Array = new Float32Array(B * H);
      let dcLater: Float32Array = new Float32Array(B * H);
      let dCtxLater: Float32Array = new Float32Array(B * D);
      const dAlignLater = new Float32Array(B * T);
      const dScores = new Float32Array(B * T);
      for (let t = S - 1; t >= 0; t--) {
        const dCtxT = stepOf(dCtx, t, S);
        for (let k = 0; k < dCtxT.length; k++) dCtxT[k] = (dCtxT[k] as number) + (dCtxLater[k] as number);
        // Context = alignment . states, then the softmax.
        const alignment = stepOf(trace.alignment, t, S);
        const dAlign = valuesOf(() => tf.matMul(tf.tensor3d(dCtxT, [B, 1, D]), statesT));
        softmaxBackward(dAlign, dAlignLater, alignment, dScores, T);
        // Scores = tanh(pre) v with tanh(pre) = 2s - 1: dpre = dscore v (1 - tanh^2) = 4 dscore v s (1 - s).
        const dq = stepOf(dQ, t, S);
        tf.tidy(() => {
          const sig = tf.tensor2d(stepOf(trace.sigmoid, t, S), [B * T, A]);
          const ds = tf.tensor2d(dScores, [B * T, 1]);
          const dPre = tf.mul(tf.mul(ds, v4), tf.mul(sig, tf.sub(1, sig))) as tf.Tensor2D;
          dKeys = accumulate(dKeys, dPre);
          if (dWloc) dWloc = accumulate(dWloc, weightGradient(tf.tensor2d(stepOf(trace.windows, t, S), [B * T, K]), dPre));
          dq.set(tf.sum(tf.reshape(dPre, [B, T, A]), 1).dataSync() as Float32Array);
          // dv = sum of dscore tanh(pre) = 2 (dscore . s) - sum(dscore).
          const dsS = tf.matMul(tf.reshape(ds, [1, B * T]), sig).dataSync();
          const dsSum = dScores.reduce((x, y) => x + y, 0);
          for (let a = 0; a < A; a++) dV[a] = (dV[a] as number) + 2 * (dsS[a] as number) - dsSum;
          // Through the location features into the previous step's alignment (the first step's is fixed).
          if (wlocT && t > 0) foldWindows(tf.matMul(dPre, wlocT).dataSync() as Float32Array, T, K, dAlignLater);
          else dAlignLater.fill(0);
        });
        // h feeds the output layer, the query, and the next step's LSTM.
        const dh = stepOf(dHOut, t, S);
        const dhQuery = timesMatrix(dq, B, wqT);
        for (let k = 0; k < dh.length; k++) dh[k] = (dh[k] as number) + (dhQuery[k] as number) + (dhLater[k] as number);
        const dz = stepOf(dZ, t, S);
        const dc = new Float32Array(B * H);
        cellBackward(dh, dcLater, stepOf(trace.gates, t, S), stepOf(trace.tanhC, t, S), stepOf(trace.cPrev, t, S), dz, dc, H);
        const dx = timesMatrix(dz, B, wDecT);
        dCtxLater = columns(dx, B, V, D);
        dhLater = columns(dx, B, V + D, H);
        dcLater = dc;
      }
      const grads = tf.tidy(() => {
        // dStates[b] = alignment[b]^T dContext[b] over all steps, as one batched product.
        const alignBTS = tf.transpose(tf.tensor3d(swapLeadingAxes(trace.alignment, S, B), [B, S, T]), [0, 2, 1]);
        const dStates = tf.matMul(alignBTS, tf.tensor3d(swapLeadingAxes(dCtx, S, B), [B, S, D]));
        const out: tf.Tensor[] = [
          dStates,
          tf.reshape(dKeys, [B, T, A]),
          tf.tensor2d(dhLater, [B, H]),
          tf.tensor2d(dcLater, [B, H]),
          tf.tensor2d(dCtxLater, [B, D]),
          // Weight gradients: one product each over all steps.
          outerSum(trace.x, dZ, N),
          tf.tensor1d(columnSums(dZ, N)),
          outerSum(columns(trace.hc, N, 0, H), dQ, N),
          tf.tensor2d(Float32Array.from(dV), [A, 1]),
          outerSum(trace.hc, dHidden, N),
          tf.tensor1d(columnSums(dHidden, N)),
          outerSum(trace.hidden, dLogits, N),
          tf.tensor1d(columnSums(dLogits, N)),
        ];
        if (dWloc) out.push(tf.clone(dWloc));
        return out;
      });
      tf.dispose([dKeys, ...(dWloc ? [dWloc] : []), statesT, v4]);
      return grads;
    };
    return { value: tf.tensor2d(logitsAll, [S * B, V]), gradFunc };
  });
  const init = args.init;
  return op(mem.states, mem.keys, init.h, init.c, init.context, ...weights) as tf.Tensor2D;
};
