/**
 * Data-parallel training (this thread + worker threads, one backend instance and one replica
 * of the model and Adam each): the summed gradients equal the single-worker gradients of the
 * same batch, scheduled sampling included; training steps leave the same weights as
 * single-worker training; and the replicas stay bit-identical to the trainer's model.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { Adam } from '../src/train/adam.js';
import { readCheckpoint, type Checkpoint } from '../src/train/checkpoint.js';
import { allocateSlots, layoutOf, reduceSlots, slotViews, writeSlot } from '../src/train/parallel/exchange.js';
import { GradientPool, splitShards } from '../src/train/parallel/pool.js';
import { applyGradients, computeGradients } from '../src/train/step.js';
import { train } from '../src/train/trainer.js';
import { tidyKeep } from '../src/util/tidy.js';
import { randomFrames } from './helpers/random-frames.js';
import { readTrainLog, smallTrainConfig, TempDirs, TINY_MANIFEST } from './helpers/tiny-model.js';

const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, encoderUnits: 24, attentionDim: 24, decoderUnits: 32, outputDim: 32, locationKernel: 5 };

const LENGTHS = [120, 64, 97, 40, 150, 33];
const TARGETS = [[3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13], [14], [15, 16, 17, 18, 19, 20, 21], [22, 23]];

/** Largest difference relative to the largest magnitude in `a`. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(b.length).toBe(a.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

const dirs = new TempDirs();

describe('data-parallel training', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(async () => {
    await dirs.cleanup();
  });

  it('splitShards balances frames and covers each utterance once', () => {
    const shards = splitShards([100, 90, 80, 30, 20, 10], 2);
    expect(shards.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const load = shards.map((s) => s.reduce((n, i) => n + [100, 90, 80, 30, 20, 10][i]!, 0));
    expect(Math.abs(load[0]! - load[1]!)).toBeLessThanOrEqual(20);
  });

  it('the exchange sums slots weighted by characters, skipping idle replicas and missing gradients', () => {
    const [a, b] = tf.tidy(() => [tf.variable(tf.zeros([2, 2])), tf.variable(tf.zeros([3]))]);
    const layout = layoutOf(new Map([['a', a], ['b', b]]));
    expect(layout).toMatchObject({ names: ['a', 'b'], offsets: [0, 4], total: 7 });
    const slots = slotViews(allocateSlots(layout, 3), 3, 1);
    const grads = (x: number): Record<string, tf.Tensor> => ({ a: tf.fill([2, 2], x), b: tf.fill([3], 10 * x) });
    expect(tf.tidy(() => writeSlot(layout, slots[0]!, grads(1)))).toEqual([]);
    expect(tf.tidy(() => writeSlot(layout, slots[2]!, { a: tf.fill([2, 2], 3) }))).toEqual(['b']);
    const sum = reduceSlots(layout, slots, [{ tokens: 1, missing: [] }, null, { tokens: 3, missing: ['b'] }]);
    expect([...sum.a!.dataSync()]).toEqual([2.5, 2.5, 2.5, 2.5]); // (1 * 1 + 3 * 3) / 4
    expect([...sum.b!.dataSync()]).toEqual([2.5, 2.5, 2.5]); // (1 * 10 + 3 * 0) / 4
    const none = reduceSlots(layout, slots, [{ tokens: 1, missing: ['b'] }, null, null]);
    expect(Object.keys(none)).toEqual(['a']);
    tf.dispose([a!, b!, ...Object.values(sum), ...Object.values(none)]);
  });

  const cases = [
    { replicas: 2, model: cfg, ctcWeight: 0, what: '' },
    { replicas: 3, model: cfg, ctcWeight: 0, what: '' },
    { replicas: 2, model: { ...cfg, ctcLayer: 1 }, ctcWeight: 0.3, what: ', CTC head with weight 0.3' },
  ];
  for (const { replicas, model: modelConfig, ctcWeight, what } of cases) {
    it(`summed gradients of ${replicas} replicas equal the single-worker gradients (teacher forcing 0.7${what})`, async () => {
      const model = Seq2Seq.create(modelConfig, 5);
      const adam = new Adam();
      const pool = await GradientPool.start(replicas, model, adam, 'wasm');
      try {
        expect(pool.size).toBe(replicas);
        const frames = randomFrames(LENGTHS, 39, 3);
        const seeds = [101, 102, 103, 104, 105, 106];
        const single = tidyKeep(() => computeGradients(model, frames, TARGETS, { teacherForcing: 0.7, samplingSeeds: seeds, labelSmoothing: 0.1, ctcWeight }));
        const parallel = await pool.compute(frames, TARGETS, seeds, { teacherForcing: 0.7, labelSmoothing: 0.1, ctcWeight });
        if (ctcWeight > 0) expect(Object.keys(parallel.grads)).toContain('ctc.w');
        expect(parallel.tokens).toBe(single.tokens);
        expect(parallel.sampledInputs).toBe(single.sampledInputs);
        expect(Math.abs(parallel.loss - single.loss)).toBeLessThan(1e-5);
        expect(Object.keys(parallel.grads).sort()).toEqual(Object.keys(single.grads).sort());
        for (const name of Object.keys(single.grads)) {
          expect(relDiff(single.grads[name]!.dataSync(), parallel.grads[name]!.dataSync()), name).toBeLessThan(1e-4);
        }
        tf.dispose(Object.values(single.grads));
        pool.apply(parallel.grads, 1e-2, 5);
        // A batch with fewer utterances than replicas: idle workers still take part in the update.
        const small = await pool.compute(randomFrames([50, 70], 39, 4), TARGETS.slice(0, 2), seeds.slice(0, 2), { teacherForcing: 0.7 });
        pool.apply(small.grads, 1e-2, 5);
        for (let w = 0; w < replicas - 1; w++) {
          const replica = await pool.replicaState(w);
          for (const [name, v] of model.params.vars) expect(bitsEqual(replica.weights[name]!, v.dataSync() as Float32Array), `worker ${w} ${name}`).toBe(true);
        }
      } finally {
        await pool.close();
        model.dispose();
        adam.dispose();
      }
    });
  }

  it('training steps equal single-worker training, from a resumed Adam state, and the replicas stay identical', async () => {
    const steps = 5;
    const batches = Array.from({ length: steps }, (_, s) => ({
      frames: randomFrames(LENGTHS.map((n) => n + 7 * s), 39, 10 + s),
      seeds: LENGTHS.map((_, i) => 1000 * s + i),
    }));
    const options = (s: number) => ({ teacherForcing: 0.8, labelSmoothing: 0.1, samplingSeeds: batches[s]!.seeds });
    const singleModel = Seq2Seq.create(cfg, 9);
    const singleAdam = new Adam();
    const poolModel = Seq2Seq.create(cfg, 9);
    const poolAdam = new Adam();
    const lr = (s: number): number => 3e-3 * (1 + s);
    const clip = 0.4; // gradient norms here are ~0.37-0.48: some steps are clipped, some not
    // Two steps in this thread first, as before a checkpoint: the pool starts from a non-trivial Adam state.
    for (const s of [0, 1]) {
      for (const [m, a] of [[singleModel, singleAdam], [poolModel, poolAdam]] as const) {
        const g = tidyKeep(() => computeGradients(m, batches[s]!.frames, TARGETS, options(s)));
        applyGradients(m, a, g.grads, lr(s), clip);
      }
    }
    const pool = await GradientPool.start(2, poolModel, poolAdam, 'wasm', { checkEvery: 1 });
    try {
      let clipped = 0;
      for (let s = 2; s < steps; s++) {
        const g1 = tidyKeep(() => computeGradients(singleModel, batches[s]!.frames, TARGETS, options(s)));
        const u1 = applyGradients(singleModel, singleAdam, g1.grads, lr(s), clip);
        const g2 = await pool.compute(batches[s]!.frames, TARGETS, batches[s]!.seeds, { teacherForcing: 0.8, labelSmoothing: 0.1 });
        const u2 = pool.apply(g2.grads, lr(s), clip);
        expect(u2.applied).toBe(true);
        expect(Math.abs(u2.gradNorm - u1.gradNorm) / u1.gradNorm).toBeLessThan(1e-4);
        if (u1.gradNorm > clip) clipped++;
      }
      expect(clipped).toBeGreaterThan(0);
      expect(clipped).toBeLessThan(steps - 2);
      expect(poolAdam.step).toBe(singleAdam.step);
      for (const [name, v] of singleModel.params.vars) {
        expect(relDiff(v.dataSync(), poolModel.params.get(name).dataSync()), name).toBeLessThan(1e-4);
      }
      // The worker's replica: bit for bit the trainer's model and Adam state.
      const replica = await pool.replicaState(0);
      expect(replica.adamStep).toBe(poolAdam.step);
      expect(Object.keys(replica.weights).sort()).toEqual([...poolModel.params.vars.keys()].sort());
      for (const [name, v] of poolModel.params.vars) expect(bitsEqual(replica.weights[name]!, v.dataSync() as Float32Array), name).toBe(true);
      const state = poolAdam.state().tensors;
      expect(Object.keys(replica.adam).sort()).toEqual(Object.keys(state).sort());
      for (const [key, t] of Object.entries(state)) expect(bitsEqual(replica.adam[key]!, t.dataSync() as Float32Array), key).toBe(true);

      // A change to the trainer's model outside the pool is caught at the next step.
      const w = poolModel.params.get('out.b2');
      w.assign(tf.add(w, 1e-3));
      await expect(pool.compute(batches[0]!.frames, TARGETS, batches[0]!.seeds, { teacherForcing: 1 })).rejects.toThrow(/no longer equals/);
    } finally {
      await pool.close();
      for (const x of [singleModel, poolModel, singleAdam, poolAdam]) x.dispose();
    }
  });

  it('the trainer with 2 workers, stopped and resumed, equals single-worker training (checkpoint and log)', async () => {
    // Scheduled sampling, speed perturbation, SpecAugment and clipping on; 3 batches per epoch.
    const config = smallTrainConfig({
      teacherForcing: { kind: 'linear', slope: 0.08, min: 0.5 },
      augment: { speeds: [0.9, 1, 1.1], specAugment: { timeMasks: 1, timeMaskWidth: 5, maxTimeMaskFraction: 0.2, freqMasks: 1, freqMaskWidth: 3, featureGroups: 3 } },
      clipNorm: 1,
    });
    const total = 7;
    const single = await dirs.make('koe-parallel-1-');
    const parallel = await dirs.make('koe-parallel-2-');
    const base = { trainManifest: TINY_MANIFEST, config, quiet: true } as const;
    await train({ ...base, outDir: single, resume: false, workers: 1, overrides: { maxSteps: total } });
    await train({ ...base, outDir: parallel, resume: false, workers: 2, overrides: { maxSteps: 4 } });
    await train({ ...base, outDir: parallel, resume: true, workers: 2, overrides: { maxSteps: total } });
    const [a, b] = [await readCheckpoint(single), await readCheckpoint(parallel)];
    try {
      expect(b.progress.step).toBe(total);
      expect(b.adamStep).toBe(a.adamStep);
      for (const key of ['params', 'adam'] as const) {
        expect(Object.keys(b[key]).sort()).toEqual(Object.keys(a[key]).sort());
        for (const name of Object.keys(a[key])) {
          expect(relDiff(a[key][name]!.dataSync(), b[key][name]!.dataSync()), `${key} ${name}`).toBeLessThan(1e-4);
        }
      }
    } finally {
      for (const ck of [a, b] as Checkpoint[]) tf.dispose([...Object.values(ck.params), ...Object.values(ck.adam)]);
    }
    const [logA, logB] = [await readTrainLog(single), await readTrainLog(parallel)];
    expect(logB.map((l) => l.step)).toEqual(logA.map((l) => l.step));
    // (Not `sampled`: Seq2Seq.loss also counts the input after an utterance's EOS as sampled when a
    // longer utterance shares the batch, so that count depends on how the batch was split.)
    logA.forEach((x, i) => {
      expect(Math.abs(x.loss - logB[i]!.loss), `loss at step ${i}`).toBeLessThan(1e-4);
    });
  });
});
