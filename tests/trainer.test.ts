/**
 * The training loop's guarantees: exact resumption, refusing to overwrite a run, a clear
 * stop on divergence that keeps the last checkpoint, clean interruption, the teacher-forcing
 * schedules (as documented and as logged), and the bucketed batches.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../src/backend.js';
import { loadModel } from '../src/io/model-dir.js';
import { bundleExists } from '../src/io/tensor-bundle.js';
import { ModelParams } from '../src/model/params.js';
import { DEFAULT_TEACHER_FORCING, teacherForcingProbability, type TeacherForcingSchedule } from '../src/model/teacher-forcing.js';
import { makeBatches } from '../src/train/batches.js';
import { checkpointExists, readCheckpoint, type Checkpoint, type TrainProgress } from '../src/train/checkpoint.js';
import { learningRateAt, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from '../src/train/config.js';
import { epochModelDir, train, TrainingDivergedError, TrainingInterruptedError, type TrainOptions } from '../src/train/trainer.js';
import { makeRng } from '../src/util/rng.js';
import { DEFAULT_FEATURE_CONFIG, sameFeatures } from '../src/features/index.js';
import { readTrainLog, SMALL_MODEL, smallTrainConfig, TempDirs, TINY_MANIFEST, trainSmallModel } from './helpers/tiny-model.js';

const dirs = new TempDirs();

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await dirs.cleanup();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs with quiet: false also draw progress lines on stderr; keep the test output clean. */
function muteStderr(): void {
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
}

function run(outDir: string, over: TrainConfigInput, extra: Partial<TrainOptions> = {}): ReturnType<typeof train> {
  return train({ trainManifest: TINY_MANIFEST, outDir, config: smallTrainConfig(over), resume: false, quiet: true, ...extra });
}

/** Largest absolute difference between same-named tensors of two records (which must hold the same names). */
function maxAbsDiff(a: Record<string, tf.Tensor>, b: Record<string, tf.Tensor>): number {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  let worst = 0;
  for (const name of Object.keys(a)) {
    const x = (a[name] as tf.Tensor).dataSync();
    const y = (b[name] as tf.Tensor).dataSync();
    expect(x.length, name).toBe(y.length);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
  }
  return worst;
}

function disposeCheckpoint(ck: Checkpoint): void {
  tf.dispose([...Object.values(ck.params), ...Object.values(ck.adam)]);
}

describe('resume', () => {
  it('N steps, stop, resume for M more = N+M steps in one run (weights, Adam state, log)', async () => {
    // Everything that draws random numbers is on: batch shuffling after the first epoch,
    // scheduled sampling, speed perturbation and SpecAugment. 3 batches per epoch, so the
    // stop (after step 4) falls in the middle of the second, shuffled epoch.
    const over: TrainConfigInput = {
      teacherForcing: { kind: 'linear', slope: 0.08, min: 0.5 },
      augment: { speeds: [0.9, 1, 1.1], specAugment: { timeMasks: 1, timeMaskWidth: 5, maxTimeMaskFraction: 0.2, freqMasks: 1, freqMaskWidth: 3, featureGroups: 3 } },
      checkpointEvery: 2,
    };
    const total = 7;
    const first = 4;
    const oneRun = await dirs.make('koe-resume-a-');
    const split = await dirs.make('koe-resume-b-');

    const a = await run(oneRun, over, { overrides: { maxSteps: total } });
    expect(a.progress.step).toBe(total);
    expect(a.interrupted).toBe(false);

    const b1 = await run(split, over, { overrides: { maxSteps: first } });
    expect(b1.progress.step).toBe(first);
    expect(b1.progress).toMatchObject({ epoch: 1, batchInEpoch: 1 });
    const atStop = await readCheckpoint(split);
    expect(atStop.progress.step).toBe(first);
    disposeCheckpoint(atStop);
    // The stored config wins on resume: a different one passed now must not matter.
    const b2 = await train({
      trainManifest: TINY_MANIFEST,
      outDir: split,
      config: smallTrainConfig({ ...over, seed: 99, learningRate: { peak: 0.5 } }),
      overrides: { maxSteps: total },
      resume: true,
      quiet: true,
    });
    expect(b2.progress.step).toBe(total);

    // Same progress, epoch records (mean train loss over the whole epoch included) and all,
    // except wall-clock times.
    const timeless = (p: TrainProgress): unknown => ({ ...p, seconds: 0, epochs: p.epochs.map((e) => ({ ...e, seconds: 0 })) });
    expect(b2.progress.epochs).toHaveLength(2);
    expect(timeless(b2.progress)).toEqual(timeless(a.progress));

    const ckA = await readCheckpoint(oneRun);
    const ckB = await readCheckpoint(split);
    expect(ckB.progress.step).toBe(total);
    expect(ckB.adamStep).toBe(ckA.adamStep);
    expect(maxAbsDiff(ckA.params, ckB.params)).toBeLessThan(1e-6);
    expect(maxAbsDiff(ckA.adam, ckB.adam)).toBeLessThan(1e-6);
    expect(ckB.normalization).toEqual(ckA.normalization);
    // ...and training did move the weights (a run that changes nothing would also "match").
    const initial = ModelParams.create(ckA.config.model, ckA.config.seed);
    const initialTensors = Object.fromEntries(initial.vars);
    expect(maxAbsDiff(ckA.params, initialTensors)).toBeGreaterThan(1e-3);
    initial.dispose();
    disposeCheckpoint(ckA);
    disposeCheckpoint(ckB);

    const logA = await readTrainLog(oneRun);
    const logB = await readTrainLog(split);
    expect(logA.map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(logB.map((l) => l.step)).toEqual(logA.map((l) => l.step));
    for (let i = 0; i < total; i++) {
      const [x, y] = [logA[i]!, logB[i]!];
      expect(Number.isFinite(x.loss)).toBe(true);
      expect(Math.abs(x.loss - y.loss), `loss at step ${i}`).toBeLessThan(1e-6);
      expect(y.teacherForcing).toBe(x.teacherForcing);
      expect(y.learningRate).toBe(x.learningRate);
      expect(y.sampled).toBe(x.sampled);
    }
    // Scheduled sampling really happened, so its random draws were part of what had to match.
    expect(logA.some((l) => l.sampled > 0)).toBe(true);
  });

  it('refuses to start over an existing checkpoint without resume, and leaves it untouched', async () => {
    const out = await dirs.make('koe-exists-');
    await run(out, {}, { overrides: { maxSteps: 1 } });
    const before = await readFile(path.join(out, 'checkpoint.json'), 'utf8');
    const logBefore = await readFile(path.join(out, 'train-log.jsonl'), 'utf8');

    const again = run(out, {}, { overrides: { maxSteps: 2 } });
    await expect(again).rejects.toThrow(/already holds a training checkpoint.*--resume/);
    await expect(again).rejects.not.toBeInstanceOf(TrainingDivergedError);
    expect(await readFile(path.join(out, 'checkpoint.json'), 'utf8')).toBe(before);
    expect(await readFile(path.join(out, 'train-log.jsonl'), 'utf8')).toBe(logBefore);
  });

  it('resuming a finished checkpoint trains nothing and leaves it untouched', async () => {
    const out = await dirs.make('koe-resume-done-');
    await run(out, {}, { overrides: { maxSteps: 2 } });
    const before = await readFile(path.join(out, 'checkpoint.json'), 'utf8');
    const lines: string[] = [];
    muteStderr();
    const r = await run(out, {}, { resume: true, overrides: { maxSteps: 2 }, quiet: false, log: (l) => lines.push(l) });
    expect(r.progress.step).toBe(2);
    expect(r.interrupted).toBe(false);
    expect(lines.join('\n')).toMatch(/nothing left to train .*step 2.*maxSteps 2/);
    expect(lines.join('\n')).not.toMatch(/features/);
    expect(await readFile(path.join(out, 'checkpoint.json'), 'utf8')).toBe(before);
  });

  it('resume without a checkpoint starts a new run', async () => {
    const out = await dirs.make('koe-resume-new-');
    const lines: string[] = [];
    muteStderr();
    const r = await run(out, {}, { resume: true, overrides: { maxSteps: 1 }, quiet: false, log: (l) => lines.push(l) });
    expect(r.progress.step).toBe(1);
    expect(lines.join('\n')).toMatch(/no checkpoint in .*starting a new run/);
    expect(await checkpointExists(out)).toBe(true);
  });
});

describe('divergence', () => {
  it('a non-finite loss stops with TrainingDivergedError and keeps the last checkpoint loadable', async () => {
    const out = await dirs.make('koe-diverge-');
    // An absurd learning rate without clipping: Adam's first step moves weights by up to 1e38
    // (still finite in float32), and the next forward pass overflows.
    const over: TrainConfigInput = {
      learningRate: { peak: 1e38, warmupSteps: 0, decayRate: 1, decaySteps: 1, floor: 0 },
      clipNorm: 0,
      checkpointEvery: 1,
    };
    let caught: unknown;
    try {
      await run(out, over);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TrainingDivergedError);
    const message = (caught as Error).message;
    expect(message).toMatch(/training diverged at step (\d+)/);
    const divergedAt = Number(/at step (\d+)/.exec(message)?.[1]);
    expect(message).toContain('intact');
    expect(message).toContain(out);

    // The last checkpoint is from just before the diverged step, and reads back (finite values).
    const ck = await readCheckpoint(out);
    expect(divergedAt).toBeGreaterThanOrEqual(1);
    expect(ck.progress.step).toBe(divergedAt);
    const params = ModelParams.fromTensors(ck.config.model, ck.params);
    expect(params.count).toBeGreaterThan(0);
    params.dispose();
    disposeCheckpoint(ck);
    // Nothing of the diverged step was logged.
    expect((await readTrainLog(out)).map((l) => l.step)).toEqual([...Array(divergedAt).keys()]);

    // The trainer itself can pick the checkpoint up again (and, same config, diverges at the same step).
    const resumed = run(out, over, { resume: true });
    await expect(resumed).rejects.toBeInstanceOf(TrainingDivergedError);
    await expect(resumed).rejects.toThrow(`at step ${divergedAt}`);
  });

  it('an update that leaves non-finite weights is never saved: the previous checkpoint stays loadable', async () => {
    const out = await dirs.make('koe-diverge-weights-');
    await run(out, { checkpointEvery: 1 }, { overrides: { maxSteps: 2 } });
    // The run continues with a learning rate beyond float32 (the stored config is what a resume uses):
    // loss and gradients of the next step are finite, the weights after its update are not.
    const jsonPath = path.join(out, 'checkpoint.json');
    const doc = JSON.parse(await readFile(jsonPath, 'utf8')) as { config: TrainConfig };
    doc.config = { ...doc.config, clipNorm: 0, learningRate: { peak: 1e39, warmupSteps: 0, decayRate: 1, decaySteps: 1, floor: 0 } };
    await writeFile(jsonPath, JSON.stringify(doc));
    const files = async (): Promise<string[]> => (await readdir(out)).sort();
    const before = { json: await readFile(jsonPath, 'utf8'), files: await files() };

    const resumed = run(out, {}, { resume: true, overrides: { maxSteps: 4 } });
    await expect(resumed).rejects.toBeInstanceOf(TrainingDivergedError);
    await expect(resumed).rejects.toThrow(/no longer finite.*intact/);
    expect(await readFile(jsonPath, 'utf8')).toBe(before.json);
    expect(await files()).toEqual(before.files);
    const ck = await readCheckpoint(out);
    expect(ck.progress.step).toBe(2);
    disposeCheckpoint(ck);
  });
});

describe('interruption', () => {
  it('an abort while features are computed stops at once with TrainingInterruptedError', async () => {
    const out = await dirs.make('koe-abort-early-');
    const controller = new AbortController();
    controller.abort();
    await expect(run(out, {}, { signal: controller.signal })).rejects.toThrow(TrainingInterruptedError);
    expect(await bundleExists(out, 'checkpoint')).toBe(false);
  });

  it('an abort during the first step stops after it, saves a checkpoint and reports interrupted', async () => {
    const out = await dirs.make('koe-abort-');
    const tensorsBefore = tf.memory().numTensors;
    const controller = new AbortController();
    let checks = 0;
    let training = false;
    // Ctrl-C arrives while step 0 runs: the training loop's second look at the signal sees it
    // aborted (looks during feature extraction, before the "training on" line, do not count).
    const signal = new Proxy(controller.signal, {
      get(target, prop) {
        if (prop === 'aborted' && training && ++checks === 2) controller.abort();
        return Reflect.get(target, prop, target) as unknown;
      },
    });
    const lines: string[] = [];
    muteStderr();
    const log = (l: string): void => {
      lines.push(l);
      if (l.startsWith('training on')) training = true;
    };
    const r = await run(out, {}, { signal, quiet: false, log });
    expect(r.interrupted).toBe(true);
    expect(r.progress.step).toBe(1);
    expect(lines.join('\n')).toMatch(/interrupted: checkpoint saved at step 1/);

    const ck = await readCheckpoint(out);
    expect(ck.progress).toMatchObject({ step: 1, epoch: 0, batchInEpoch: 1 });
    disposeCheckpoint(ck);
    expect((await readTrainLog(out)).map((l) => l.step)).toEqual([0]);
    // The epoch did not finish, so no model directory was written yet.
    expect(await bundleExists(out, 'model')).toBe(false);

    // And the run continues from there.
    const more = await run(out, {}, { resume: true, overrides: { maxSteps: 3 } });
    expect(more.interrupted).toBe(false);
    expect((await readTrainLog(out)).map((l) => l.step)).toEqual([0, 1, 2]);
    // Neither the runs nor the resume leave tensors behind.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('finishing an epoch writes a model directory next to the checkpoint', async () => {
    const out = await dirs.make('koe-epoch-');
    const r = await run(out, { epochs: 1 });
    expect(r.progress).toMatchObject({ step: 3, epoch: 1, batchInEpoch: 0 });
    expect(r.progress.epochs).toHaveLength(1);
    expect(await bundleExists(out, 'model')).toBe(true);
    expect((await stat(path.join(out, 'model.json'))).size).toBeGreaterThan(0);
  });
});

describe('keepEpochModels', () => {
  it('keeps the model of the end of each of the last N epochs, loadable, with its epoch', async () => {
    const out = await dirs.make('koe-epochs-');
    await run(out, { epochs: 3, keepEpochModels: 2 });
    const kept = await readdir(path.join(out, 'epochs'));
    expect(kept.sort()).toEqual(['epoch-002', 'epoch-003']);
    const last = await loadModel(epochModelDir(out, 3));
    expect(last.training).toMatchObject({ epoch: 3, epochs: 3 });
    // The last snapshot is the weights the run ended with (its checkpoint).
    const ck = await readCheckpoint(out);
    const snap: Record<string, tf.Tensor> = {};
    for (const [k, v] of last.model.params.vars) snap[k] = v;
    expect(maxAbsDiff(snap, ck.params)).toBe(0);
    last.model.dispose();
    disposeCheckpoint(ck);
  });

  it('is off by default and must be a non-negative integer', () => {
    expect(resolveTrainConfig().keepEpochModels).toBe(0);
    expect(() => resolveTrainConfig({ keepEpochModels: -1 })).toThrow(/keepEpochModels must be a non-negative integer/);
    expect(() => resolveTrainConfig({ keepEpochModels: 1.5 })).toThrow(/keepEpochModels/);
  });
});

describe('fine-tuning (initFrom)', () => {
  /** Weights of a model directory, as a record (disposed by the caller). */
  async function weightsOf(dir: string): Promise<{ params: Record<string, tf.Tensor>; normalization: { mean: number[]; std: number[] }; training: Record<string, unknown> }> {
    const m = await loadModel(dir);
    const params: Record<string, tf.Tensor> = {};
    for (const [k, v] of m.model.params.vars) params[k] = v;
    return { params, normalization: m.normalization, training: m.training };
  }

  it('starts from the model: its weights, architecture and statistics, and records where it came from', async () => {
    const base = await dirs.make('koe-ft-base-');
    await trainSmallModel(base, 30);
    const fresh = await dirs.make('koe-ft-fresh-');
    const tuned = await dirs.make('koe-ft-tuned-');
    // A different architecture in the config: the model's replaces it. A learning rate of
    // ~0 leaves the weights where they start, so the saved model shows what training began from.
    // The base model's features have no cmn field (as models made before it): cmn false is the same.
    const over: TrainConfigInput = {
      model: { ...SMALL_MODEL, encoderUnits: 4 },
      features: { ...DEFAULT_FEATURE_CONFIG, cmn: false },
      learningRate: { peak: 1e-12, warmupSteps: 1, floor: 1e-12 },
      epochs: 1,
    };
    await run(fresh, over);
    await run(tuned, over, { initFrom: base });
    const [b, t] = [await weightsOf(base), await weightsOf(tuned)];
    expect(maxAbsDiff(b.params, t.params)).toBeLessThan(1e-6);
    expect(t.normalization).toEqual(b.normalization);
    expect(t.training.initFrom).toMatchObject({ model: path.resolve(base), steps: 30 });
    // The trained start shows in the very first step's loss.
    const [freshLog, tunedLog] = [await readTrainLog(fresh), await readTrainLog(tuned)];
    expect(tunedLog[0]!.loss).toBeLessThan(freshLog[0]!.loss * 0.8);
    tf.dispose([...Object.values(b.params), ...Object.values(t.params)]);
  });

  it('with other features (cepstral mean normalization on), starts from the weights and computes the statistics anew', async () => {
    const base = await dirs.make('koe-ft-base2-');
    await trainSmallModel(base, 3);
    const tuned = await dirs.make('koe-ft-cmn-');
    const over: TrainConfigInput = { features: { ...DEFAULT_FEATURE_CONFIG, cmn: true }, learningRate: { peak: 1e-12, warmupSteps: 1, floor: 1e-12 }, epochs: 1 };
    await run(tuned, over, { initFrom: base });
    const [b, t] = [await weightsOf(base), await weightsOf(tuned)];
    expect(maxAbsDiff(b.params, t.params)).toBeLessThan(1e-6);
    expect(t.normalization.mean[0]).not.toBeCloseTo(b.normalization.mean[0] as number, 1);
    // c0 less its utterance mean averages to zero over the training set.
    expect(Math.abs(t.normalization.mean[0] as number)).toBeLessThan(1e-3);
    const loaded = await loadModel(tuned);
    expect(loaded.features.cmn).toBe(true);
    loaded.model.dispose();
    tf.dispose([...Object.values(b.params), ...Object.values(t.params)]);
  });

  it('a resumed fine-tuning run keeps the model it started from and its architecture', async () => {
    const base = await dirs.make('koe-ft-base4-');
    await trainSmallModel(base, 3);
    const out = await dirs.make('koe-ft-resume-');
    const over: TrainConfigInput = { model: { ...SMALL_MODEL, encoderUnits: 4 }, checkpointEvery: 1, epochs: 2 };
    await run(out, over, { initFrom: base, overrides: { maxSteps: 2 } });
    const ck = await readCheckpoint(out);
    expect(ck.config.model.encoderUnits).toBe(SMALL_MODEL.encoderUnits);
    disposeCheckpoint(ck);
    // Resumed without initFrom (as `koe train --resume` does): the checkpoint carries it.
    const r = await train({ trainManifest: TINY_MANIFEST, outDir: out, config: smallTrainConfig(over), overrides: { maxSteps: 6 }, resume: true, quiet: true });
    expect(r.progress.step).toBe(6);
    const t = await weightsOf(out);
    expect(t.training.initFrom).toMatchObject({ model: path.resolve(base), steps: 3 });
    const loaded = await loadModel(out);
    expect(loaded.model.config.encoderUnits).toBe(SMALL_MODEL.encoderUnits);
    loaded.model.dispose();
    tf.dispose(Object.values(t.params));
  });

  it('compares feature settings with an absent cmn as off', () => {
    expect(sameFeatures(DEFAULT_FEATURE_CONFIG, { ...DEFAULT_FEATURE_CONFIG, cmn: false })).toBe(true);
    expect(sameFeatures(DEFAULT_FEATURE_CONFIG, { ...DEFAULT_FEATURE_CONFIG, cmn: true })).toBe(false);
    expect(sameFeatures(DEFAULT_FEATURE_CONFIG, { ...DEFAULT_FEATURE_CONFIG, numCeps: 12 })).toBe(false);
  });

  it('refuses a model whose input does not match the training features', async () => {
    const base = await dirs.make('koe-ft-base3-');
    await trainSmallModel(base, 3);
    const out = await dirs.make('koe-ft-bad-');
    const over: TrainConfigInput = { features: { ...DEFAULT_FEATURE_CONFIG, numCeps: 12 }, model: { ...SMALL_MODEL, inputDim: 36 } };
    await expect(run(out, over, { initFrom: base })).rejects.toThrow(/cannot fine-tune .*39-dim features, the training config makes 36/);
  });
});

describe('teacher forcing schedules', () => {
  it('give the documented values', () => {
    const linear: TeacherForcingSchedule = { kind: 'linear', slope: 0.1, min: 0.25 };
    expect(teacherForcingProbability(linear, 0)).toBe(1);
    expect(teacherForcingProbability(linear, 3)).toBeCloseTo(0.7, 12);
    expect(teacherForcingProbability(linear, 7)).toBeCloseTo(0.3, 12);
    expect(teacherForcingProbability(linear, 8)).toBe(0.25); // 0.2 is below min
    expect(teacherForcingProbability(linear, 1e6)).toBe(0.25);

    const exponential: TeacherForcingSchedule = { kind: 'exponential', decay: 0.5, min: 0.1 };
    expect(teacherForcingProbability(exponential, 0)).toBe(1);
    expect(teacherForcingProbability(exponential, 1)).toBe(0.5);
    expect(teacherForcingProbability(exponential, 3)).toBe(0.125);
    expect(teacherForcingProbability(exponential, 4)).toBe(0.1); // 0.0625 is below min

    const sigmoid: TeacherForcingSchedule = { kind: 'inverse-sigmoid', k: 10, min: 0 };
    expect(teacherForcingProbability(sigmoid, 0)).toBeCloseTo(10 / 11, 12);
    expect(teacherForcingProbability(sigmoid, 10)).toBeCloseTo(10 / (10 + Math.E), 12);
    expect(teacherForcingProbability(sigmoid, 50)).toBeCloseTo(10 / (10 + Math.exp(5)), 12);
    // Far out, exp() would overflow: still a number, at the floor.
    const far = teacherForcingProbability({ kind: 'inverse-sigmoid', k: 1, min: 0.05 }, 1e9);
    expect(far).toBe(0.05);
    expect(teacherForcingProbability({ kind: 'inverse-sigmoid', k: 1, min: 0 }, 1e9)).toBeGreaterThanOrEqual(0);

    const constant: TeacherForcingSchedule = { kind: 'constant', value: 0.6, min: 0 };
    for (const step of [0, 1, 500, 1e7]) expect(teacherForcingProbability(constant, step)).toBe(0.6);

    // The decaying kinds never increase.
    for (const s of [linear, exponential, sigmoid, DEFAULT_TEACHER_FORCING]) {
      let previous = Infinity;
      for (let step = 0; step < 20_000; step += 97) {
        const p = teacherForcingProbability(s, step);
        expect(p).toBeLessThanOrEqual(previous);
        expect(p).toBeGreaterThanOrEqual(s.min);
        expect(p).toBeLessThanOrEqual(1);
        previous = p;
      }
    }
  });

  it('reject invalid settings in a training config', () => {
    expect(() => resolveTrainConfig({ teacherForcing: { kind: 'exponential', decay: 1.5, min: 0 } })).toThrow(/decay/);
    expect(() => resolveTrainConfig({ teacherForcing: { kind: 'inverse-sigmoid', k: 0.5, min: 0 } })).toThrow(/k must be/);
    expect(() => resolveTrainConfig({ teacherForcing: { kind: 'cosine' as 'linear', min: 0 } })).toThrow(/unknown teacher-forcing schedule "cosine"/);
    expect(() => resolveTrainConfig({ teacherForcing: { kind: 'linear', slope: 0.1, min: 2 } })).toThrow(/min/);
  });

  const schedules: [string, TeacherForcingSchedule][] = [
    ['linear', { kind: 'linear', slope: 0.3, min: 0.2 }],
    ['exponential', { kind: 'exponential', decay: 0.5, min: 0.1 }],
    ['inverse-sigmoid', { kind: 'inverse-sigmoid', k: 1, min: 0 }],
    ['constant 0', { kind: 'constant', value: 0, min: 0 }],
    ['constant 1', { kind: 'constant', value: 1, min: 0 }],
  ];
  for (const [name, schedule] of schedules) {
    it(`${name}: each step's probability and learning rate are logged in train-log.jsonl`, async () => {
      const out = await dirs.make('koe-tf-');
      const config = smallTrainConfig({ teacherForcing: schedule });
      const steps = 3;
      await train({ trainManifest: TINY_MANIFEST, outDir: out, config, overrides: { maxSteps: steps }, resume: false, quiet: true });
      const log = await readTrainLog(out);
      expect(log.map((l) => l.step)).toEqual([0, 1, 2]);
      for (const line of log) {
        const p = teacherForcingProbability(schedule, line.step);
        expect(line.teacherForcing).toBe(p);
        expect(line.learningRate).toBe(learningRateAt(config.learningRate, line.step));
        expect(Number.isFinite(line.loss) && line.loss > 0).toBe(true);
        expect(line.gradNorm).toBeGreaterThan(0);
        // The probability is what the step used: full teacher forcing feeds no predictions,
        // none at all feeds predictions after every character.
        if (p === 1) expect(line.sampled).toBe(0);
        if (p === 0) expect(line.sampled).toBeGreaterThan(0);
      }
    });
  }
});

describe('makeBatches', () => {
  function check(frames: number[], maxFrames: number, maxUtterances: number, batches: number[][]): void {
    // Every utterance exactly once.
    expect(batches.flat().sort((a, b) => a - b)).toEqual(frames.map((_, i) => i));
    for (const b of batches) {
      expect(b.length).toBeGreaterThan(0);
      expect(b.length).toBeLessThanOrEqual(maxUtterances);
      const longest = Math.max(...b.map((i) => frames[i]!));
      // Padded size within budget, unless a single utterance is itself over it.
      if (b.length > 1) expect(b.length * longest).toBeLessThanOrEqual(maxFrames);
    }
  }

  function randomLengths(n: number, seed: number): number[] {
    const rng = makeRng(seed);
    return Array.from({ length: n }, () => 20 + Math.floor(rng() * 600));
  }

  it('respects maxFrames and maxUtterances and covers every utterance once (sorted and shuffled)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const frames = randomLengths(97, seed);
      for (const [maxFrames, maxUtterances] of [
        [2000, 32],
        [1200, 4],
        [5000, 1],
        [700, 100],
      ] as const) {
        check(frames, maxFrames, maxUtterances, makeBatches(frames, maxFrames, maxUtterances));
        check(frames, maxFrames, maxUtterances, makeBatches(frames, maxFrames, maxUtterances, makeRng(seed + 100)));
      }
    }
  });

  it('fills batches up to the limits', () => {
    expect(makeBatches([10, 10, 10, 10, 10, 10, 10], 1000, 3)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(makeBatches([10, 10, 10, 10, 10], 30, 100)).toEqual([[0, 1, 2], [3, 4]]);
    // The padded size counts the longest member: 2 x 40 = 80 fits, 3 x 40 does not.
    expect(makeBatches([40, 5, 39], 80, 100)).toEqual([[1, 2], [0]]);
  });

  it('puts an utterance longer than maxFrames in a batch of its own', () => {
    const batches = makeBatches([50, 5000, 60, 70], 200, 10);
    expect(batches).toContainEqual([1]);
    check([50, 5000, 60, 70], 200, 10, batches);
  });

  it('without a generator: shortest first (the curriculum), deterministic', () => {
    const frames = randomLengths(40, 9);
    const batches = makeBatches(frames, 1500, 8);
    const longestOf = batches.map((b) => Math.max(...b.map((i) => frames[i]!)));
    expect(longestOf).toEqual([...longestOf].sort((a, b) => a - b));
    expect(makeBatches(frames, 1500, 8)).toEqual(batches);
  });

  it('with a generator: the same seed gives the same batches, another seed another order', () => {
    const frames = randomLengths(60, 11);
    const a = makeBatches(frames, 1500, 8, makeRng(3));
    expect(makeBatches(frames, 1500, 8, makeRng(3))).toEqual(a);
    expect(makeBatches(frames, 1500, 8, makeRng(4))).not.toEqual(a);
  });

});

