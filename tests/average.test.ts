/**
 * Weight averaging (src/train/average.ts, `koe average`): the result is the element-wise mean
 * of the snapshots' weights, everything else is the last snapshot's, and snapshots of different
 * runs are refused.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { DEFAULT_FEATURE_CONFIG } from '../src/features/index.js';
import { loadModel, saveModel, type LoadedModel } from '../src/io/model-dir.js';
import { Vocabulary } from '../src/model/vocab.js';
import { AverageError, averageModels } from '../src/train/average.js';
import { identityNormalization, REPO_ROOT, SMALL_MODEL, TempDirs, untrainedModel } from './helpers/tiny-model.js';

const dirs = new TempDirs();

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await dirs.cleanup();
});

/** A model directory holding a freshly initialized small model (weights drawn from `seed`). */
async function snapshot(seed: number, over: Partial<LoadedModel> = {}, config = SMALL_MODEL): Promise<string> {
  const dir = await dirs.make(`koe-avg-${seed}-`);
  const model = untrainedModel(config, seed);
  await saveModel(dir, {
    model,
    vocab: new Vocabulary(),
    features: { ...DEFAULT_FEATURE_CONFIG, cmn: true },
    normalization: identityNormalization(config.inputDim),
    training: { steps: seed * 100 },
    ...over,
  });
  model.dispose();
  return dir;
}

/** The weights of a model directory as plain arrays, by name. */
async function weights(dir: string): Promise<Map<string, Float32Array>> {
  const m = await loadModel(dir);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of m.model.params.vars) out.set(name, v.dataSync() as Float32Array);
  m.model.dispose();
  return out;
}

function expectMean(got: Map<string, Float32Array>, parts: Map<string, Float32Array>[]): void {
  expect([...got.keys()].sort()).toEqual([...(parts[0] as Map<string, Float32Array>).keys()].sort());
  let worst = 0;
  for (const [name, values] of got) {
    values.forEach((v, i) => {
      const mean = parts.reduce((s, p) => s + ((p.get(name) as Float32Array)[i] as number), 0) / parts.length;
      worst = Math.max(worst, Math.abs(v - mean));
    });
  }
  expect(worst).toBeLessThan(1e-6);
}

describe('averageModels', () => {
  it("is the element-wise mean of the weights, with the last model's settings and where it came from", async () => {
    const a = await snapshot(1);
    const b = await snapshot(2);
    const c = await snapshot(3, { decoding: { beam: 3 } });
    const averaged = await averageModels([a, b, c]);
    const out = await dirs.make('koe-avg-out-');
    await saveModel(out, averaged);
    averaged.model.dispose();
    expectMean(await weights(out), [await weights(a), await weights(b), await weights(c)]);
    const loaded = await loadModel(out);
    expect(loaded.training).toEqual({ steps: 300, validCer: null, validWer: null, averagedFrom: [a, b, c].map((d) => path.resolve(d)) });
    expect(loaded.decoding).toEqual({ beam: 3 });
    expect(loaded.features.cmn).toBe(true);
    loaded.model.dispose();
  });

  it('leaves no tensors behind', async () => {
    const [a, b] = [await snapshot(4), await snapshot(5)];
    const before = tf.memory().numTensors;
    const averaged = await averageModels([a, b]);
    averaged.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses snapshots of different runs, and a single model', async () => {
    const a = await snapshot(6);
    const wider = await snapshot(7, {}, { ...SMALL_MODEL, encoderUnits: SMALL_MODEL.encoderUnits + 2 });
    const otherStats = await snapshot(8, { normalization: { ...identityNormalization(), mean: identityNormalization().mean.map(() => 0.5) } });
    const otherFeatures = await snapshot(9, { features: { ...DEFAULT_FEATURE_CONFIG, cmn: false } });
    const before = tf.memory().numTensors;
    await expect(averageModels([a, wider])).rejects.toThrow(/architectures differ/);
    await expect(averageModels([a, otherStats])).rejects.toThrow(/normalization statistics differ/);
    await expect(averageModels([a, otherFeatures])).rejects.toThrow(/feature settings differ/);
    await expect(averageModels([a])).rejects.toThrow(AverageError);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('koe average', () => {
  it('writes the averaged model and brings the last model\'s language models along', async () => {
    const [a, b] = [await snapshot(10), await snapshot(11)];
    await writeFile(path.join(b, 'lm.bin'), 'not read here');
    const out = path.join(await dirs.make('koe-avg-cli-'), 'averaged');
    const run = promisify(execFile);
    const r = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'koe.js'), '--backend', 'wasm', 'average', a, b, '-o', out], { cwd: REPO_ROOT });
    expect(r.stdout).toMatch(/the mean of 2 models' weights/);
    expectMean(await weights(out), [await weights(a), await weights(b)]);
    expect(existsSync(path.join(out, 'lm.bin'))).toBe(true);
    expect(existsSync(path.join(out, 'word-lm.bin'))).toBe(false);
    const info = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'koe.js'), '--backend', 'wasm', 'info', '--model', out], { cwd: REPO_ROOT });
    expect(info.stdout).toContain(`weights averaged over 2 snapshots: ${path.resolve(a)}, ${path.resolve(b)}`);
    expect(info.stdout).toMatch(/validation CER n\/a/);
    const bad = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'koe.js'), '--backend', 'wasm', 'average', a, '-o', out], { cwd: REPO_ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^koe: averaging needs at least two models \(got 1\)\n$/) });
  });
});
