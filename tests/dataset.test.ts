import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_CONFIG } from '../src/features/index.js';
import { Vocabulary } from '../src/model/vocab.js';
import { FeatureStore, loadUtterances } from '../src/train/dataset.js';

const manifest = path.join(import.meta.dirname, 'fixtures', 'tiny', 'manifest.jsonl');

describe('FeatureStore', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps utterances of different sets apart (same index, different audio)', async () => {
    const { utterances } = await loadUtterances(manifest, new Vocabulary());
    const store = new FeatureStore(DEFAULT_FEATURE_CONFIG, false);
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
    const store = new FeatureStore(DEFAULT_FEATURE_CONFIG, false);
    await store.saveFile(path.join(dir, 'f.bin'), 'k1', utterances);
    const again = new FeatureStore(DEFAULT_FEATURE_CONFIG, false);
    expect(await again.loadFile(path.join(dir, 'f.bin'), 'k2', utterances)).toBe(false);
    expect(await again.loadFile(path.join(dir, 'f.bin'), 'k1', utterances)).toBe(true);
    for (const u of utterances) {
      const x = await store.raw(u);
      const y = await again.raw(u);
      expect(y.frames).toBe(x.frames);
      expect(Array.from(y.data)).toEqual(Array.from(x.data));
    }
  });
});
