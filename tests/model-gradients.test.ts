/**
 * The hand-written gradients (LSTM backward pass, explicit-transpose matMuls) must equal
 * the automatic gradients of the plainly written model, on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config.js';
import { referenceKernels } from '../src/model/kernels.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { Adam } from '../src/train/adam.js';
import { applyGradients, computeGradients } from '../src/train/step.js';
import { randomFrames } from './helpers/random-frames.js';

const small: ModelConfig = {
  ...DEFAULT_MODEL_CONFIG,
  inputDim: 5,
  encoderLayers: 2,
  encoderUnits: 6,
  timeReduction: 4,
  attentionDim: 7,
  locationKernel: 3,
  decoderUnits: 8,
  outputDim: 9,
};

function gradients(model: Seq2Seq, teacherForcing: number, ctcWeight = 0): { loss: number; grads: Record<string, Float32Array> } {
  const frames = randomFrames([13, 9, 16], small.inputDim, 7);
  const targets = [[3, 4, 5, 6], [7, 8], [9, 10, 11, 12, 13]];
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => model.loss(frames, targets, { teacherForcing, samplingSeeds: [11, 12, 13], labelSmoothing: 0.1, ctcWeight }).loss,
      model.params.list(),
    );
    const out: Record<string, Float32Array> = {};
    for (const [name, v] of model.params.vars) out[name] = (grads[v.name] as tf.Tensor).dataSync() as Float32Array;
    return { loss: value.dataSync()[0] as number, grads: out };
  });
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

describe('hand-written gradients', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  const variants = [
    ...(['location', 'additive'] as const).flatMap((attention) => [1, 0.5].map((teacherForcing) => ({ attention, teacherForcing, ctcLayer: undefined as number | undefined }))),
    // Joint CTC-attention: the CTC head on the first (time /2) encoder layer.
    { attention: 'location' as const, teacherForcing: 0.5, ctcLayer: 0 },
  ];
  for (const { attention, teacherForcing, ctcLayer } of variants) {
    {
      const ctc = ctcLayer === undefined ? '' : `, CTC on layer ${ctcLayer}`;
      it(`match automatic gradients (${attention} attention, teacher forcing ${teacherForcing}${ctc})`, () => {
        const cfg: ModelConfig = { ...small, attention, ...(ctcLayer === undefined ? {} : { ctcLayer }) };
        const ctcWeight = ctcLayer === undefined ? 0 : 0.3;
        const fast = Seq2Seq.create(cfg, 3);
        const reference = fast.withKernels(referenceKernels);
        const a = gradients(fast, teacherForcing, ctcWeight);
        const b = gradients(reference, teacherForcing, ctcWeight);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
        expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
        for (const name of Object.keys(a.grads)) {
          const err = maxRelativeError(a.grads[name] as Float32Array, b.grads[name] as Float32Array);
          expect(err, name).toBeLessThan(1e-4);
          // A gradient that is zero everywhere would pass trivially: make sure it is not.
          expect(Math.max(...Array.from(a.grads[name] as Float32Array, Math.abs)), name).toBeGreaterThan(0);
        }
        fast.dispose();
      });
    }
  }

  // The fast kernels cache weight transposes within a backward pass; after an update the
  // weights change, and a stale transpose would make the next step's gradients wrong.
  it('stay equal to automatic gradients across optimizer updates (location attention, CTC head)', () => {
    const cfg: ModelConfig = { ...small, ctcLayer: 0 };
    const fast = Seq2Seq.create(cfg, 5);
    const reference = Seq2Seq.create(cfg, 5, referenceKernels);
    const frames = randomFrames([13, 9, 16], small.inputDim, 7);
    const targets = [[3, 4, 5, 6], [7, 8], [9, 10, 11, 12, 13]];
    const opts = { teacherForcing: 0.5, samplingSeeds: [11, 12, 13], labelSmoothing: 0.1, ctcWeight: 0.3 };
    const optimizers = [new Adam(), new Adam()];
    for (let step = 0; step < 4; step++) {
      [fast, reference].forEach((model, k) => {
        const g = computeGradients(model, frames, targets, opts);
        applyGradients(model, optimizers[k] as Adam, g.grads, 0.01, 5);
      });
    }
    for (const [name, v] of fast.params.vars) {
      const a = v.dataSync() as Float32Array;
      const b = reference.params.get(name).dataSync() as Float32Array;
      expect(maxRelativeError(a, b), name).toBeLessThan(1e-4);
    }
    optimizers.forEach((o) => o.dispose());
    fast.dispose();
    reference.dispose();
  });

  // The hand-written training decoder keeps its trace only when a backward pass may follow; the
  // validation loss (no gradient tape) takes the other path and must give the same loss.
  for (const attention of ['location', 'additive'] as const) {
    it(`give the same loss with and without a gradient tape, feed the same sampled inputs, and leak no tensors (${attention} attention)`, () => {
      const cfg: ModelConfig = { ...small, attention };
      const fast = Seq2Seq.create(cfg, 9);
      const reference = Seq2Seq.create(cfg, 9, referenceKernels);
      const frames = randomFrames([13, 9, 16], small.inputDim, 7);
      const targets = [[3, 4, 5, 6], [7, 8], [9, 10, 11, 12, 13]];
      const opts = { teacherForcing: 0.5, samplingSeeds: [11, 12, 13], labelSmoothing: 0.1 };
      const before = tf.memory().numTensors;
      const withTape = computeGradients(fast, frames, targets, opts);
      tf.dispose(Object.values(withTape.grads));
      const withoutTape = tf.tidy(() => {
        const r = fast.loss(frames, targets, opts);
        return { loss: r.loss.dataSync()[0] as number, sampled: r.sampledInputs };
      });
      const referenceResult = computeGradients(reference, frames, targets, opts);
      tf.dispose(Object.values(referenceResult.grads));
      expect(tf.memory().numTensors).toBe(before);
      expect(withoutTape.loss).toBe(withTape.loss);
      expect(withoutTape.sampled).toBe(withTape.sampledInputs);
      expect(withTape.sampledInputs).toBeGreaterThan(0);
      expect(withTape.sampledInputs).toBe(referenceResult.sampledInputs);
      expect(Math.abs(withTape.loss - referenceResult.loss)).toBeLessThan(1e-5);
      fast.dispose();
      reference.dispose();
    });
  }
});

