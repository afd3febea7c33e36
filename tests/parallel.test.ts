/**
 * Data-parallel gradients (worker threads, one backend instance each) equal the
 * single-worker gradients of the same batch, scheduled sampling included.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { GradientPool, splitShards } from '../src/train/parallel/pool.js';
import { computeGradients } from '../src/train/step.js';
import { tidyKeep } from '../src/util/tidy.js';
import { randomFrames } from './helpers/random-frames.js';

const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, encoderUnits: 24, attentionDim: 24, decoderUnits: 32, outputDim: 32, locationKernel: 5 };

describe('data-parallel gradients', () => {
  let pool: GradientPool;
  beforeAll(async () => {
    await initBackend('wasm');
    pool = await GradientPool.start(2, cfg, 'wasm');
  });
  afterAll(async () => {
    await pool.close();
  });

  it('splitShards balances frames and covers each utterance once', () => {
    const shards = splitShards([100, 90, 80, 30, 20, 10], 2);
    expect(shards.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const load = shards.map((s) => s.reduce((n, i) => n + [100, 90, 80, 30, 20, 10][i]!, 0));
    expect(Math.abs(load[0]! - load[1]!)).toBeLessThanOrEqual(20);
  });

  it('equal the single-worker gradients (teacher forcing 0.7)', async () => {
    const model = Seq2Seq.create(cfg, 5);
    const frames = randomFrames([120, 64, 97, 40, 150, 33], 39, 3);
    const targets = [[3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13], [14], [15, 16, 17, 18, 19, 20, 21], [22, 23]];
    const seeds = [101, 102, 103, 104, 105, 106];
    const single = tidyKeep(() => computeGradients(model, frames, targets, { teacherForcing: 0.7, samplingSeeds: seeds, labelSmoothing: 0.1 }));
    const parallel = await pool.compute(model.params, frames, targets, seeds, { teacherForcing: 0.7, labelSmoothing: 0.1 });
    expect(parallel.tokens).toBe(single.tokens);
    expect(parallel.sampledInputs).toBe(single.sampledInputs);
    expect(Math.abs(parallel.loss - single.loss)).toBeLessThan(1e-5);
    for (const name of Object.keys(single.grads)) {
      const a = single.grads[name]!.dataSync();
      const b = parallel.grads[name]!.dataSync();
      let diff = 0;
      let scale = 1e-6;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
      expect(diff / scale, name).toBeLessThan(1e-4);
    }
    tf.dispose([...Object.values(single.grads), ...Object.values(parallel.grads)]);
    model.dispose();
  });
});
