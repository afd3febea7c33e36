import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_CONFIG } from '../src/features/index.js';
import { Vocabulary } from '../src/model/vocab.js';
import { FeatureStore, loadUtterances } from '../src/train/dataset.js';
import { extractFeaturesInParallel } from '../src/train/parallel/feature-pool.js';

const manifest = path.join(import.meta.dirname, 'fixtures', 'tiny', 'manifest.jsonl');

describe('FeatureStore', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps utterances of different sets apart (same index, different audio)', async () => {
    const { utterances } = await loadUtterances(manifest, new Vocabulary());
    const store = new FeatureStore(DEFAULT_FEATURE_CONFIG);
    const a = utterances[0]!;
    const b = { ...utterances[5]!, index: 0 }; // as if first of another manifest
    const fa = await store.raw(a);
    const fb = await store.raw(b);
    expect(fb.frames).not.toBe(fa.frames);
  });

  it('saves features to a file and loads them back exactly; a different key is refused', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'koe-feat-'));
    dirs.push(dir);
    const { utterances } = await loadUtterances(manifest, new Vocabulary());
    const store = new FeatureStore(DEFAULT_FEATURE_CONFIG);
    await store.saveFile(path.join(dir, 'f.bin'), 'k1', utterances);
    const again = new FeatureStore(DEFAULT_FEATURE_CONFIG);
    expect(await again.loadFile(path.join(dir, 'f.bin'), 'k2', utterances)).toBe(false);
    expect(await again.loadFile(path.join(dir, 'f.bin'), 'k1', utterances)).toBe(true);
    for (const u of utterances) {
      const x = await store.raw(u);
      const y = await again.raw(u);
      expect(y.frames).toBe(x.frames);
      expect(Array.from(y.data)).toEqual(Array.from(x.data));
    }
  });

  it('computes the same features on worker threads as in this thread, at every speed, and saves them per speed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'koe-feat-'));
    dirs.push(dir);
    const { utterances } = await loadUtterances(manifest, new Vocabulary());
    const some = utterances.slice(0, 3);
    const jobs = [0.9, 1, 1.1].flatMap((speed) => some.map((u) => ({ u, speed })));
    const received: { index: number; data: Float32Array }[] = [];
    const parallel = new FeatureStore(DEFAULT_FEATURE_CONFIG);
    await extractFeaturesInParallel(
      jobs.map(({ u, speed }) => ({ audioPath: u.audioPath, speed })),
      DEFAULT_FEATURE_CONFIG,
      2,
      (i, m, duration) => {
        received.push({ index: i, data: m.data });
        parallel.put(jobs[i]!.u, jobs[i]!.speed, m, duration);
      },
    );
    expect(received.map((r) => r.index).sort((a, b) => a - b)).toEqual(jobs.map((_, i) => i));
    const here = new FeatureStore(DEFAULT_FEATURE_CONFIG);
    for (const { index, data } of received) {
      const { u, speed } = jobs[index]!;
      expect(parallel.has(u, speed)).toBe(true);
      expect(Array.from(data)).toEqual(Array.from((await here.raw(u, speed)).data));
    }
    const slow = (await here.raw(some[0]!, 0.9)).frames;
    const fast = (await here.raw(some[0]!, 1.1)).frames;
    expect(slow / fast).toBeCloseTo(1.1 / 0.9, 1);

    await parallel.saveFile(path.join(dir, 'slow.bin'), 'k', some, 0.9);
    const again = new FeatureStore(DEFAULT_FEATURE_CONFIG);
    expect(await again.loadFile(path.join(dir, 'slow.bin'), 'k', some, 1.1)).toBe(false);
    expect(again.has(some[0]!, 0.9)).toBe(false);
    expect(await again.loadFile(path.join(dir, 'slow.bin'), 'k', some, 0.9)).toBe(true);
    expect(some.every((u) => again.has(u, 0.9) && !again.has(u, 1))).toBe(true);
    expect((await again.raw(some[0]!, 0.9)).frames).toBe(slow);
  });

  it('refuses a truncated feature file without loading any of it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'koe-feat-'));
    dirs.push(dir);
    const { utterances } = await loadUtterances(manifest, new Vocabulary());
    const some = utterances.slice(0, 2);
    const file = path.join(dir, 'f.bin');
    await new FeatureStore(DEFAULT_FEATURE_CONFIG).saveFile(file, 'k', some);
    const bytes = await readFile(file);
    for (const cut of [bytes.length - 4, 10, 2]) {
      await writeFile(file, bytes.subarray(0, cut));
      const store = new FeatureStore(DEFAULT_FEATURE_CONFIG);
      expect(await store.loadFile(file, 'k', some)).toBe(false);
      expect(store.has(some[0]!)).toBe(false);
    }
  });

  it('reports an audio file that cannot be read, from a worker', async () => {
    await expect(extractFeaturesInParallel([{ audioPath: '/nonexistent/x.wav', speed: 1 }], DEFAULT_FEATURE_CONFIG, 2, () => {})).rejects.toThrow(/nonexistent\/x\.wav/);
  });
});
