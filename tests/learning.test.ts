/**
 * The proof that encoder, attention, decoder, scheduled sampling and the hand-written
 * gradients work together: a small model trained by the real trainer on eight committed
 * utterances reaches character error rate 0 on them with greedy decoding, deterministically.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { readManifest } from '../src/io/manifest.js';
import { ErrorAccumulator } from '../src/metrics/wer.js';
import { loadTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { Transcriber } from '../src/transcriber.js';

const fixtures = path.join(import.meta.dirname, 'fixtures', 'tiny');
const manifest = path.join(fixtures, 'manifest.jsonl');

const configFile = path.join(fixtures, 'train-config.json');

describe('learning', () => {
  let out: string;
  beforeAll(async () => {
    await initBackend('wasm');
    out = await mkdtemp(path.join(os.tmpdir(), 'koe-learn-'));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('a small model learns eight utterances to CER 0 (greedy)', async () => {
    const result = await train({ trainManifest: manifest, outDir: out, config: await loadTrainConfig(configFile), resume: false, quiet: true });
    expect(result.progress.step).toBe(250);
    const transcriber = await Transcriber.load(out);
    const acc = new ErrorAccumulator();
    const lines: string[] = [];
    for (const e of await readManifest(manifest)) {
      const r = await transcriber.transcribe(e.audioFilepath);
      acc.add(e.text, r.text);
      lines.push(`${e.text} -> ${r.text}`);
    }
    transcriber.dispose();
    expect(acc.cer, lines.join('\n')).toBe(0);
  }, 600_000);
});
