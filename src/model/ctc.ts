/**
 * Connectionist temporal classification (Graves et al. 2006): the loss of a frame-wise
 * output sequence summed over every alignment of the target, and its exact gradient by
 * the forward-backward algorithm in log space. It runs on the CPU in plain loops: the
 * lattice is small (frames x (2 * characters + 1)) and sequential in time, which suits
 * JavaScript better than many tiny tensor ops.
 *
 * Used as the auxiliary loss of joint CTC-attention training (Kim, Hori & Watanabe 2017):
 * it forces the encoder to align characters to frames monotonically, which the attention
 * decoder otherwise has to discover on its own.
 */
import * as tf from '@tensorflow/tfjs';
import { PAD } from './vocab.js';

/** The CTC blank: the padding symbol, which never occurs in a target. */
export const CTC_BLANK = PAD;

export interface CtcInput {
  /** Unnormalized scores, time-major and flattened: row t*batch + b, `vocab` columns. */
  logits: Float32Array;
  steps: number;
  batch: number;
  vocab: number;
  /** Real frames per utterance (<= steps). */
  lengths: readonly number[];
  /** Character ids per utterance (no blank). */
  targets: readonly (readonly number[])[];
  blank?: number;
}

export interface CtcResult {
  /** -log p(target | input) per utterance; 0 for an infeasible utterance (see `feasible`). */
  nll: Float64Array;
  /** False where the target cannot fit in the frames (too short, counting repeats): no loss, no gradient. */
  feasible: boolean[];
  /** d(sum of nll)/d(logits), the layout of the input. */
  grad: Float32Array;
}

/** log(exp(a) + exp(b)), exact for -Infinity. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** Frames a target needs: one per character plus a blank between equal neighbours. */
export function ctcMinFrames(target: readonly number[]): number {
  let n = target.length;
  for (let i = 1; i < target.length; i++) if (target[i] === target[i - 1]) n++;
  return n;
}

/** CTC negative log-likelihood and its gradient for a batch. */
export function ctcLoss(input: CtcInput): CtcResult {
  const { logits, steps, batch, vocab, lengths, targets } = input;
  const blank = input.blank ?? CTC_BLANK;
  if (logits.length !== steps * batch * vocab) throw new Error(`CTC logits hold ${logits.length} values, expected ${steps}*${batch}*${vocab}`);
  const grad = new Float32Array(logits.length);
  const nll = new Float64Array(batch);
  const feasible: boolean[] = [];
  for (let b = 0; b < batch; b++) {
    const frames = lengths[b] as number;
    const target = targets[b] as readonly number[];
    if (frames > steps) throw new Error(`utterance ${b} has ${frames} frames, more than the ${steps} given`);
    if (frames < 1 || frames < ctcMinFrames(target)) {
      feasible.push(false);
      continue;
    }
    feasible.push(true);
    // Log-softmax of this utterance's rows.
    const logp = new Float64Array(frames * vocab);
    for (let t = 0; t < frames; t++) {
      const row = (t * batch + b) * vocab;
      let max = -Infinity;
      for (let k = 0; k < vocab; k++) max = Math.max(max, logits[row + k] as number);
      let sum = 0;
      for (let k = 0; k < vocab; k++) sum += Math.exp((logits[row + k] as number) - max);
      const logZ = max + Math.log(sum);
      for (let k = 0; k < vocab; k++) logp[t * vocab + k] = (logits[row + k] as number) - logZ;
    }
    // Extended label sequence: blank, c1, blank, c2, ..., blank.
    const S = 2 * target.length + 1;
    const ext = new Int32Array(S).fill(blank);
    for (let i = 0; i < target.length; i++) ext[2 * i + 1] = target[i] as number;
    const canSkip = (s: number): boolean => s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2];

    // alpha[t][s]: log-probability of the prefixes ending in state s at frame t (emission included).
    const alpha = new Float64Array(frames * S).fill(-Infinity);
    alpha[0] = logp[blank] as number;
    if (S > 1) alpha[1] = logp[ext[1] as number] as number;
    for (let t = 1; t < frames; t++) {
      const prev = (t - 1) * S;
      for (let s = 0; s < S; s++) {
        let a = alpha[prev + s] as number;
        if (s >= 1) a = logAdd(a, alpha[prev + s - 1] as number);
        if (canSkip(s)) a = logAdd(a, alpha[prev + s - 2] as number);
        alpha[t * S + s] = a === -Infinity ? a : a + (logp[t * vocab + (ext[s] as number)] as number);
      }
    }
    const last = (frames - 1) * S;
    const logLik = logAdd(alpha[last + S - 1] as number, S > 1 ? (alpha[last + S - 2] as number) : -Infinity);
    nll[b] = -logLik;

    // beta[t][s]: log-probability of completing the target from state s at frame t (emission at t excluded).
    const beta = new Float64Array(frames * S).fill(-Infinity);
    beta[last + S - 1] = 0;
    if (S > 1) beta[last + S - 2] = 0;
    for (let t = frames - 2; t >= 0; t--) {
      const next = (t + 1) * S;
      const emit = (s: number): number => (beta[next + s] as number) + (logp[(t + 1) * vocab + (ext[s] as number)] as number);
      for (let s = 0; s < S; s++) {
        let v = emit(s);
        if (s + 1 < S) v = logAdd(v, emit(s + 1));
        if (s + 2 < S && canSkip(s + 2)) v = logAdd(v, emit(s + 2));
        beta[t * S + s] = v;
      }
    }

    // d(-log p)/d(logit k at t) = softmax(t, k) - posterior of symbol k at frame t.
    const posterior = new Float64Array(vocab);
    for (let t = 0; t < frames; t++) {
      posterior.fill(0);
      for (let s = 0; s < S; s++) {
        const g = (alpha[t * S + s] as number) + (beta[t * S + s] as number) - logLik;
        if (g > -Infinity) posterior[ext[s] as number] = (posterior[ext[s] as number] as number) + Math.exp(g);
      }
      const row = (t * batch + b) * vocab;
      for (let k = 0; k < vocab; k++) grad[row + k] = Math.exp(logp[t * vocab + k] as number) - (posterior[k] as number);
    }
  }
  return { nll, feasible, grad };
}

/**
 * The summed CTC loss as a differentiable scalar of `logits` ([T*B, V], time-major), with
 * the forward-backward gradient. Returns the tensor and, as plain numbers, what it summed.
 */
export function ctcLossTensor(
  logits: tf.Tensor2D,
  steps: number,
  batch: number,
  lengths: readonly number[],
  targets: readonly (readonly number[])[],
): { loss: tf.Scalar; nll: number; feasible: number } {
  let total = 0;
  let feasible = 0;
  const op = tf.customGrad((x) => {
    const r = ctcLoss({ logits: (x as tf.Tensor).dataSync() as Float32Array, steps, batch, vocab: (x as tf.Tensor).shape[1] as number, lengths, targets });
    r.nll.forEach((v) => (total += v));
    feasible = r.feasible.filter(Boolean).length;
    const shape = (x as tf.Tensor).shape;
    return {
      value: tf.scalar(total),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor(r.grad, shape)),
    };
  });
  const loss = op(logits) as tf.Scalar;
  return { loss, nll: total, feasible };
}
