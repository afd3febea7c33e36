/**
 * CTC loss: the forward-backward result must equal the probability summed over every
 * alignment (brute force), and its gradient must equal finite differences.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { DEFAULT_MODEL_CONFIG } from '../src/model/config.js';
import { ctcLoss, ctcLossTensor, ctcMinFrames } from '../src/model/ctc.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { Vocabulary } from '../src/model/vocab.js';
import { bestPath, ctcGreedyDecode } from '../src/decode/ctc-greedy.js';
import { Adam } from '../src/train/adam.js';
import { applyGradients, computeGradients } from '../src/train/step.js';
import { makeRng } from '../src/util/rng.js';
import { randomFrames } from './helpers/random-frames.js';

const BLANK = 0;

function randomLogits(rows: number, vocab: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: rows * vocab }, () => 3 * (rng() - 0.5));
}

/** Remove repeats, then blanks. */
function collapse(path: number[]): number[] {
  return path.filter((k, i) => k !== BLANK && (i === 0 || k !== path[i - 1]));
}

/** -log of the summed probability of every frame path that collapses to the target. */
function bruteForceNll(logits: Float32Array, frames: number, batch: number, b: number, vocab: number, target: number[]): number {
  const logp: number[][] = [];
  for (let t = 0; t < frames; t++) {
    const row = Array.from(logits.subarray((t * batch + b) * vocab, (t * batch + b + 1) * vocab));
    const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    logp.push(row.map((v) => v - z));
  }
  let total = 0;
  const path = new Array<number>(frames).fill(0);
  const visit = (t: number, logProb: number): void => {
    if (t === frames) {
      if (collapse(path).join(',') === target.join(',')) total += Math.exp(logProb);
      return;
    }
    for (let k = 0; k < vocab; k++) {
      path[t] = k;
      visit(t + 1, logProb + (logp[t]?.[k] as number));
    }
  };
  visit(0, 0);
  return -Math.log(total);
}

describe('CTC loss', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('equals the brute-force sum over alignments, repeats and padding included', () => {
    const vocab = 4;
    const steps = 6;
    const targets = [[1, 2], [1, 1], [3], [], [2, 3, 2]];
    const lengths = [6, 5, 4, 3, 6];
    const logits = randomLogits(steps * targets.length, vocab, 5);
    const r = ctcLoss({ logits, steps, batch: targets.length, vocab, lengths, targets });
    targets.forEach((target, b) => {
      expect(r.feasible[b]).toBe(true);
      expect(r.nll[b]).toBeCloseTo(bruteForceNll(logits, lengths[b] as number, targets.length, b, vocab, target), 6);
    });
    // Padding frames get no gradient; real frames do, and each real row sums to 0 (softmax minus a distribution).
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < targets.length; b++) {
        const row = r.grad.subarray((t * targets.length + b) * vocab, (t * targets.length + b + 1) * vocab);
        if (t >= (lengths[b] as number)) expect(Array.from(row).every((v) => v === 0)).toBe(true);
        else {
          expect(Math.abs(row.reduce((s, v) => s + v, 0))).toBeLessThan(1e-5);
          expect(Math.max(...Array.from(row, Math.abs))).toBeGreaterThan(0);
        }
      }
    }
  });

  it('has the gradient of finite differences', () => {
    const vocab = 5;
    const steps = 7;
    const targets = [[1, 3, 3, 2], [4, 1]];
    const lengths = [7, 6];
    const logits = randomLogits(steps * 2, vocab, 9);
    const total = (x: Float32Array): number => ctcLoss({ logits: x, steps, batch: 2, vocab, lengths, targets }).nll.reduce((s, v) => s + v, 0);
    const { grad } = ctcLoss({ logits, steps, batch: 2, vocab, lengths, targets });
    const eps = 1e-2;
    let worst = 0;
    for (let i = 0; i < logits.length; i++) {
      const plus = Float32Array.from(logits);
      const minus = Float32Array.from(logits);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      const numeric = (total(plus) - total(minus)) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - (grad[i] as number)));
    }
    expect(worst).toBeLessThan(1e-3);
  });

  it('skips targets that cannot fit in the frames', () => {
    expect(ctcMinFrames([1, 1, 2])).toBe(4);
    const r = ctcLoss({ logits: randomLogits(3, 3, 1), steps: 3, batch: 1, vocab: 3, lengths: [3], targets: [[1, 1, 2]] });
    expect(r.feasible).toEqual([false]);
    expect(r.nll[0]).toBe(0);
    expect(r.grad.every((v) => v === 0)).toBe(true);
  });

  it('is a differentiable tensor op with the same gradient', () => {
    const vocab = 4;
    const steps = 5;
    const targets = [[1, 2], [3]];
    const lengths = [5, 4];
    const logits = randomLogits(steps * 2, vocab, 3);
    const expected = ctcLoss({ logits, steps, batch: 2, vocab, lengths, targets });
    const x = tf.tensor2d(logits, [steps * 2, vocab]);
    const { value, grads } = tf.valueAndGrads((l: tf.Tensor) => tf.mul(ctcLossTensor(l as tf.Tensor2D, steps, 2, lengths, targets).loss, 2) as tf.Scalar)([x]);
    expect(value.dataSync()[0]).toBeCloseTo(2 * (expected.nll[0] as number) + 2 * (expected.nll[1] as number), 4);
    const g = (grads[0] as tf.Tensor).dataSync();
    g.forEach((v, i) => expect(v).toBeCloseTo(2 * (expected.grad[i] as number), 5));
    tf.dispose([x, value, ...grads]);
  });
});

describe('CTC best-path decoding', () => {
  it('merges repeats, drops blanks, keeps a repeat split by a blank, and ignores padding frames', () => {
    const vocab = 4;
    // Two utterances, time-major; per frame the intended winner gets log-probability -0.1.
    const winners = [
      [1, 2],
      [1, 2],
      [0, 0],
      [1, 2],
      [3, 0],
      [3, 3], // padding for utterance 1 (4 real frames)
    ];
    const lp = new Float32Array(winners.length * 2 * vocab).fill(-5);
    winners.forEach((row, t) => row.forEach((k, b) => (lp[(t * 2 + b) * vocab + k] = -0.1)));
    const paths = bestPath(lp, 2, vocab, [6, 4]);
    expect(paths.map((p) => p.ids)).toEqual([[1, 1, 3], [2, 2]]);
    expect(paths[0]?.logProb).toBeCloseTo(-0.6, 5);
    expect(paths[1]?.charLogProbs).toEqual([expect.closeTo(-0.1, 5), expect.closeTo(-0.1, 5)]);
  });
});

describe('joint CTC-attention training', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('learns through the CTC head: its loss falls below a fifth in 60 steps', () => {
    const cfg = { ...DEFAULT_MODEL_CONFIG, inputDim: 6, encoderLayers: 2, encoderUnits: 12, timeReduction: 4, attentionDim: 8, locationKernel: 3, decoderUnits: 12, outputDim: 12, ctcLayer: 0 };
    const model = Seq2Seq.create(cfg, 4);
    const frames = randomFrames([24, 20, 16], cfg.inputDim, 2);
    const targets = [[5, 6, 7, 8], [9, 10, 9], [11, 12]];
    const adam = new Adam();
    const ctcLosses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const g = computeGradients(model, frames, targets, { teacherForcing: 1, ctcWeight: 0.8 });
      ctcLosses.push(g.ctcLoss as number);
      adam.apply(model.params.vars, g.grads, 1e-2);
      tf.dispose(Object.values(g.grads));
    }
    expect(ctcLosses.every(Number.isFinite)).toBe(true);
    expect(ctcLosses.at(-1) as number).toBeLessThan(0.2 * (ctcLosses[0] as number));
    // Best-path decoding runs on the trained head (exact reads need far more steps than a test can afford).
    const hyps = ctcGreedyDecode(model, new Vocabulary(), frames);
    expect(hyps.every((h) => h.ids.every((id) => id !== 0))).toBe(true);
    model.dispose();
    adam.dispose();
  });

  it('trains a model with a CTC head at CTC weight 0: the head gets no gradient and stays as it is', () => {
    const cfg = { ...DEFAULT_MODEL_CONFIG, inputDim: 6, encoderLayers: 2, encoderUnits: 6, timeReduction: 4, attentionDim: 6, locationKernel: 3, decoderUnits: 6, outputDim: 6, ctcLayer: 1 };
    const model = Seq2Seq.create(cfg, 2);
    const before = model.params.get('ctc.w').dataSync().slice();
    const g = computeGradients(model, randomFrames([16, 12], cfg.inputDim, 1), [[5, 6], [7]], { teacherForcing: 1, ctcWeight: 0 });
    expect(Object.keys(g.grads)).not.toContain('ctc.w');
    expect(g.ctcLoss).toBeUndefined();
    const adam = new Adam();
    const update = applyGradients(model, adam, g.grads, 1e-2, 5);
    expect(update.applied).toBe(true);
    expect(Array.from(model.params.get('ctc.w').dataSync())).toEqual(Array.from(before));
    model.dispose();
    adam.dispose();
  });
});
