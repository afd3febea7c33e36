/**
 * Model directories: a save/load round trip reproduces the model exactly; every way a
 * directory can be broken fails with a ModelLoadError that says what is wrong; a save
 * interrupted half-way leaves the previous model loadable; and a model's recommended decoding
 * settings round-trip, are checked on load, and are what the transcriber decodes with unless
 * the caller says otherwise.
 */
import { cp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { beamDecode } from '../src/decode/beam.js';
import { ctcGreedyDecode } from '../src/decode/ctc-greedy.js';
import { greedyDecode } from '../src/decode/greedy.js';
import { DEFAULT_DECODE_OPTIONS } from '../src/decode/hypothesis.js';
import { DEFAULT_FEATURE_CONFIG } from '../src/features/index.js';
import { loadModel, MODEL_FORMAT, MODEL_FORMAT_VERSION, ModelLoadError, saveModel, validateDecoding, type LoadedModel, type RecommendedDecoding } from '../src/io/model-dir.js';
import type { Frames } from '../src/model/batch.js';
import type { Seq2Seq } from '../src/model/seq2seq.js';
import { Vocabulary } from '../src/model/vocab.js';
import { Transcriber } from '../src/transcriber.js';
import { randomFrames } from './helpers/random-frames.js';
import { identityNormalization, saveModelDir, SMALL_MODEL, TempDirs, untrainedModel } from './helpers/tiny-model.js';

const dirs = new TempDirs();
/** A saved model directory that each failure case copies and then breaks. */
let good: string;
let frames: Frames[];

interface BundleJson {
  format: unknown;
  formatVersion: unknown;
  config: Record<string, unknown>;
  vocabulary: string[];
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  [key: string]: unknown;
}

async function readJson(dir: string): Promise<BundleJson> {
  return JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as BundleJson;
}

async function writeJson(dir: string, doc: BundleJson): Promise<void> {
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(doc));
}

async function weightsFile(dir: string): Promise<string> {
  const bins = (await readdir(dir)).filter((f) => f.startsWith('model-') && f.endsWith('.bin'));
  expect(bins).toHaveLength(1);
  return path.join(dir, bins[0]!);
}

/** A copy of the good model directory, to break. */
async function copyOfGood(): Promise<string> {
  const dir = await dirs.make('koe-broken-');
  await cp(good, dir, { recursive: true });
  return dir;
}

/** Everything a model computes that matters downstream: greedy hypotheses and the first step's logits. */
function outputs(model: Seq2Seq): { ids: number[][]; logProbs: number[]; logits: Float32Array } {
  const vocab = new Vocabulary();
  const hyps = greedyDecode(model, vocab, frames, { maxLength: 12 });
  const logits = tf.tidy(() => {
    const mem = model.memory(model.encode(frames));
    const state = model.initialState(mem);
    return model.step(mem, state, model.oneHot(frames.map(() => 1))).logits.dataSync() as Float32Array;
  });
  return { ids: hyps.map((h) => h.ids), logProbs: hyps.map((h) => h.logProb), logits };
}

/** loadModel must reject with a ModelLoadError whose message matches `pattern` and names the directory. */
async function expectLoadError(dir: string, pattern: RegExp): Promise<string> {
  const tensorsBefore = tf.memory().numTensors;
  let caught: unknown;
  try {
    const m = await loadModel(dir);
    m.model.dispose();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ModelLoadError);
  const message = (caught as Error).message;
  expect(message).toMatch(pattern);
  expect(message).toContain(dir);
  expect(message.split('\n')).toHaveLength(1);
  // A failed load leaves nothing behind.
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  return message;
}

beforeAll(async () => {
  await initBackend('wasm');
  frames = randomFrames([23, 40, 9], SMALL_MODEL.inputDim, 17);
  good = await dirs.make('koe-model-');
  const model = untrainedModel(SMALL_MODEL, 3);
  await saveModelDir(good, model, { steps: 42, note: 'round trip' });
  model.dispose();
});
afterAll(async () => {
  await dirs.cleanup();
});

describe('save and load', () => {
  it('round-trips the weights, settings and outputs exactly', async () => {
    const original = untrainedModel(SMALL_MODEL, 3);
    const loaded = await loadModel(good);
    expect(loaded.model.config).toEqual(original.config);
    expect(loaded.vocab.symbols).toEqual(new Vocabulary().symbols);
    expect(loaded.features).toEqual({ ...DEFAULT_FEATURE_CONFIG });
    expect(loaded.normalization).toEqual(identityNormalization());
    expect(loaded.training).toEqual({ steps: 42, note: 'round trip' });

    expect([...loaded.model.params.vars.keys()].sort()).toEqual([...original.params.vars.keys()].sort());
    for (const [name, v] of original.params.vars) {
      expect(Array.from(loaded.model.params.get(name).dataSync()), name).toEqual(Array.from(v.dataSync()));
    }
    const a = outputs(original);
    const b = outputs(loaded.model);
    expect(b.ids).toEqual(a.ids);
    expect(b.logProbs).toEqual(a.logProbs);
    expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
    // The check has teeth: another seed computes something else.
    const other = untrainedModel(SMALL_MODEL, 4);
    expect(Array.from(outputs(other).logits)).not.toEqual(Array.from(a.logits));
    other.dispose();
    original.dispose();
    loaded.model.dispose();
  });

  it('writes exactly model.json and one weights file, in the tfjs weights-manifest format', async () => {
    const files = (await readdir(good)).sort();
    expect(files).toHaveLength(2);
    expect(files[1]).toBe('model.json');
    expect(files[0]).toMatch(/^model-[0-9a-f]{16}\.bin$/);
    const doc = await readJson(good);
    expect(doc.format).toBe(MODEL_FORMAT);
    expect(doc.formatVersion).toBe(MODEL_FORMAT_VERSION);
    expect(doc.weightsManifest[0]!.paths).toEqual([files[0]]);
    const bytes = doc.weightsManifest[0]!.weights.reduce((n, w) => n + 4 * w.shape.reduce((p, s) => p * s, 1), 0);
    expect((await readFile(path.join(good, files[0]!))).length).toBe(bytes);
  });

  it('loading and disposing a model frees all of its tensors', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const m = await loadModel(good);
      m.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('saving again replaces the weights file and removes the old one', async () => {
    const dir = await copyOfGood();
    const oldBin = await weightsFile(dir);
    const other = untrainedModel(SMALL_MODEL, 9);
    await saveModelDir(dir, other);
    const newBin = await weightsFile(dir);
    expect(newBin).not.toBe(oldBin);
    const loaded = await loadModel(dir);
    expect(Array.from(outputs(loaded.model).logits)).toEqual(Array.from(outputs(other).logits));
    loaded.model.dispose();
    other.dispose();
  });
});

describe('a model with a CTC head', () => {
  it('round-trips the head, and the transcriber decodes with it on request', async () => {
    const original = untrainedModel({ ...SMALL_MODEL, ctcLayer: 0 }, 5);
    const dir = await dirs.make('koe-ctc-model-');
    await saveModelDir(dir, original);
    const transcriber = await Transcriber.load(dir, { backend: 'cpu' });
    expect(transcriber.loaded.model.config.ctcLayer).toBe(0);
    const [frames] = randomFrames([37], SMALL_MODEL.inputDim, 6);
    const features = frames!;
    const expected = ctcGreedyDecode(original, new Vocabulary(), [frames!]);
    expect(transcriber.decode(features, { decoder: 'ctc' }).map((h) => h.ids)).toEqual(expected.map((h) => h.ids));
    expect(transcriber.decodeBatch([features], 'ctc').map((h) => h.ids)).toEqual(expected.map((h) => h.ids));
    transcriber.dispose();
    original.dispose();
  });

  it('is needed for CTC decoding: a model without one says so', async () => {
    const transcriber = await Transcriber.load(good, { backend: 'cpu' });
    const [frames] = randomFrames([16], SMALL_MODEL.inputDim, 1);
    expect(() => transcriber.decode(frames!, { decoder: 'ctc' })).toThrow(/no CTC head/);
    transcriber.dispose();
  });
});

describe('loading a broken model directory fails clearly', () => {
  it('missing directory', async () => {
    await expectLoadError(path.join(good, 'does-not-exist'), /model\.json not found/);
  });

  it('directory without model.json (Transcriber.load says it is not a model directory)', async () => {
    const empty = await dirs.make('koe-empty-');
    await expectLoadError(empty, /model\.json not found/);
    await expect(Transcriber.load(empty, { backend: 'wasm' })).rejects.toThrow(ModelLoadError);
    await expect(Transcriber.load(empty, { backend: 'wasm' })).rejects.toThrow(`${empty} is not a koe model directory (no model.json)`);
  });

  it('corrupt JSON', async () => {
    const dir = await copyOfGood();
    const text = await readFile(path.join(dir, 'model.json'), 'utf8');
    await writeFile(path.join(dir, 'model.json'), text.slice(0, Math.floor(text.length / 2)));
    await expectLoadError(dir, /model\.json is corrupt \(not valid JSON\)/);
  });

  it('JSON without a weights manifest', async () => {
    const dir = await copyOfGood();
    const { weightsManifest: _w, ...rest } = await readJson(dir);
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(rest));
    await expectLoadError(dir, /no valid weightsManifest/);
  });

  it('missing weights file', async () => {
    const dir = await copyOfGood();
    const bin = await weightsFile(dir);
    await rm(bin);
    await expectLoadError(dir, new RegExp(`weights file .*${path.basename(bin)} named in .*model\\.json is missing`));
  });

  it('truncated weights file', async () => {
    const dir = await copyOfGood();
    const bin = await weightsFile(dir);
    const size = (await readFile(bin)).length;
    await truncate(bin, size - 100);
    await expectLoadError(dir, new RegExp(`corrupt \\(${size - 100} bytes, expected ${size}\\)`));
  });

  it('NaN in the weights', async () => {
    const dir = await copyOfGood();
    const bin = await weightsFile(dir);
    const bytes = await readFile(bin);
    const doc = await readJson(dir);
    // Overwrite one value of the third tensor with NaN.
    const specs = doc.weightsManifest[0]!.weights;
    const offset = 4 * (specs[0]!.shape.reduce((p, s) => p * s, 1) + specs[1]!.shape.reduce((p, s) => p * s, 1)) + 8;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setFloat32(offset, NaN, true);
    await writeFile(bin, bytes);
    await expectLoadError(dir, new RegExp(`corrupt \\(${specs[2]!.name.replace(/\./g, '\\.')} holds a non-finite value\\)`));
  });

  it('a newer (incompatible) format version', async () => {
    const dir = await copyOfGood();
    const doc = await readJson(dir);
    await writeJson(dir, { ...doc, formatVersion: MODEL_FORMAT_VERSION + 1 });
    const message = await expectLoadError(dir, new RegExp(`format version ${MODEL_FORMAT_VERSION + 1} is not supported`));
    expect(message).toContain(`reads version ${MODEL_FORMAT_VERSION}`);
  });

  it('another format name (e.g. a checkpoint renamed to model.json)', async () => {
    const dir = await copyOfGood();
    const doc = await readJson(dir);
    await writeJson(dir, { ...doc, format: 'koe-checkpoint' });
    await expectLoadError(dir, /not a koe model \(format is "koe-checkpoint"\)/);
  });

  it('weights whose shape does not match the architecture', async () => {
    const dir = await copyOfGood();
    const doc = await readJson(dir);
    // Same number of values, transposed: the byte count still matches, the shape does not.
    const spec = doc.weightsManifest[0]!.weights.find((w) => w.name === 'out.w2')!;
    const [rows, cols] = spec.shape as [number, number];
    expect(rows).not.toBe(cols);
    spec.shape = [cols, rows];
    await writeJson(dir, doc);
    await expectLoadError(dir, new RegExp(`weight "out\\.w2" has shape \\[${cols}, ${rows}\\], expected \\[${rows}, ${cols}\\]`));
  });

  it('an architecture that does not match the weights', async () => {
    const dir = await copyOfGood();
    const doc = await readJson(dir);
    await writeJson(dir, { ...doc, config: { ...doc.config, decoderUnits: 16 } });
    await expectLoadError(dir, /weight "[a-z0-9.]+" has shape \[[0-9, ]+\], expected \[[0-9, ]+\]/);
  });

  it('a vocabulary that does not match the output layer', async () => {
    const dir = await copyOfGood();
    const doc = await readJson(dir);
    await writeJson(dir, { ...doc, vocabulary: doc.vocabulary.slice(0, -1) });
    await expectLoadError(dir, /vocabulary has 30 symbols, config says 31/);
  });
});

describe('a save interrupted half-way', () => {
  it('leaves the previous model loadable, and the next save cleans up', async () => {
    const dir = await copyOfGood();
    const before = await loadModel(dir);
    const expected = outputs(before.model);
    before.model.dispose();

    // A crash while saving another model: its weights file was written under a new name,
    // its JSON only half-way into the temporary file that would have been renamed over model.json.
    const next = untrainedModel(SMALL_MODEL, 8);
    const scratch = await dirs.make('koe-next-');
    await saveModelDir(scratch, next);
    const nextBin = path.basename(await weightsFile(scratch));
    await cp(path.join(scratch, nextBin), path.join(dir, nextBin));
    const nextJson = await readFile(path.join(scratch, 'model.json'), 'utf8');
    await writeFile(path.join(dir, `.model.json.${process.pid}.0badc0ffee00.tmp`), nextJson.slice(0, nextJson.length >> 1));
    await writeFile(path.join(dir, 'model-00000000deadbeef.bin'), new Uint8Array(1000));

    const after: LoadedModel = await loadModel(dir);
    const got = outputs(after.model);
    expect(got.ids).toEqual(expected.ids);
    expect(Array.from(got.logits)).toEqual(Array.from(expected.logits));
    after.model.dispose();

    // Saving for real afterwards works and leaves a single weights file.
    await saveModel(dir, { model: next, vocab: new Vocabulary(), features: { ...DEFAULT_FEATURE_CONFIG }, normalization: identityNormalization(), training: {} });
    expect((await readdir(dir)).filter((f) => f.endsWith('.bin'))).toEqual([nextBin]);
    const reloaded = await loadModel(dir);
    expect(Array.from(outputs(reloaded.model).logits)).toEqual(Array.from(outputs(next).logits));
    reloaded.model.dispose();
    next.dispose();
  });
});

/** Save `model` as a model directory that recommends `decoding`. */
async function saveWithDecoding(model: Seq2Seq, decoding: RecommendedDecoding): Promise<string> {
  const dir = await dirs.make('koe-decoding-');
  await saveModel(dir, { model, vocab: new Vocabulary(), features: { ...DEFAULT_FEATURE_CONFIG }, normalization: identityNormalization(), training: {}, decoding });
  return dir;
}

describe('recommended decoding settings (model.json `decoding`)', () => {
  it('round-trip; a model without them loads without them', async () => {
    const model = untrainedModel({ ...SMALL_MODEL, ctcLayer: 0 }, 5);
    const decoding: RecommendedDecoding = { decoder: 'ctc', beam: 4, lengthPenalty: 0.5, lmWeight: 0.2, lengthBonus: 1, ctcWeight: 0, wordLmWeight: 0.4, oovPenalty: 3, wordBonus: 0.5 };
    const dir = await saveWithDecoding(model, decoding);
    expect((await readJson(dir)).decoding).toEqual(decoding);
    const loaded = await loadModel(dir);
    expect(loaded.decoding).toEqual(decoding);
    loaded.model.dispose();
    model.dispose();

    expect('decoding' in (await readJson(good))).toBe(false);
    const plain = await loadModel(good);
    expect(plain.decoding).toBeUndefined();
    plain.model.dispose();
  });

  const bad: [string, unknown, RegExp][] = [
    ['beam 0', { beam: 0 }, /decoding\.beam must be a positive integer \(got 0\)/],
    ['fractional beam', { beam: 2.5 }, /decoding\.beam must be a positive integer/],
    ['beam as a string', { beam: '4' }, /decoding\.beam must be a positive integer \(got "4"\)/],
    ['negative length penalty', { lengthPenalty: -1 }, /decoding\.lengthPenalty must be a finite number >= 0/],
    ['LM weight as a string', { lmWeight: '0.3' }, /decoding\.lmWeight must be a finite number >= 0/],
    ['null length bonus (what JSON makes of NaN and Infinity)', { lengthBonus: null }, /decoding\.lengthBonus must be a finite number >= 0 \(got null\)/],
    ['negative CTC weight', { ctcWeight: -0.1 }, /decoding\.ctcWeight must be a finite number >= 0/],
    ['word LM weight as a string', { wordLmWeight: '0.3' }, /decoding\.wordLmWeight must be a finite number >= 0/],
    ['negative OOV penalty', { oovPenalty: -2 }, /decoding\.oovPenalty must be a finite number >= 0/],
    ['null word bonus', { wordBonus: null }, /decoding\.wordBonus must be a finite number >= 0 \(got null\)/],
    ['unknown decoder', { decoder: 'rnnt' }, /decoding\.decoder must be "attention" or "ctc" \(got "rnnt"\)/],
    ['unknown key', { beam: 2, nbest: 3 }, /decoding\.nbest is not a decoding setting \(allowed: decoder, beam, lengthPenalty, lmWeight, lengthBonus, ctcWeight, wordLmWeight, oovPenalty, wordBonus\)/],
    ['not an object', [4], /decoding must be an object/],
    ['the CTC decoder for a model without a CTC head', { decoder: 'ctc' }, /decoding\.decoder is "ctc" but the model has no CTC head/],
  ];
  it.each(bad)('rejects %s on load, naming the key', async (_what, decoding, pattern) => {
    const dir = await copyOfGood();
    await writeJson(dir, { ...(await readJson(dir)), decoding });
    await expectLoadError(dir, pattern);
  });

  it('the validator also rejects values JSON cannot hold, and accepts the CTC decoder with a CTC head', () => {
    expect(() => validateDecoding({ ctcWeight: Number.POSITIVE_INFINITY }, SMALL_MODEL)).toThrow(/decoding\.ctcWeight must be a finite number >= 0/);
    expect(() => validateDecoding({ lmWeight: Number.NaN }, SMALL_MODEL)).toThrow(/decoding\.lmWeight must be a finite number >= 0/);
    expect(validateDecoding({ decoder: 'ctc', beam: 1 }, { ...SMALL_MODEL, ctcLayer: 0 })).toEqual({ decoder: 'ctc', beam: 1 });
    expect(validateDecoding({}, SMALL_MODEL)).toEqual({});
  });

  it('the transcriber resolves defaults < recommended settings < explicit options', async () => {
    const model = untrainedModel(SMALL_MODEL, 3);
    const dir = await saveWithDecoding(model, { beam: 3, lmWeight: 0.1, lengthPenalty: 0 });
    const t = await Transcriber.load(dir, { backend: 'cpu' });
    const plain = await Transcriber.load(good, { backend: 'cpu' });
    try {
      expect(plain.resolveDecodeOptions()).toEqual(DEFAULT_DECODE_OPTIONS);
      expect(t.resolveDecodeOptions()).toEqual({ ...DEFAULT_DECODE_OPTIONS, beam: 3, lmWeight: 0.1, lengthPenalty: 0 });
      expect(t.resolveDecodeOptions({ beam: 1, ctcWeight: 0.7 })).toEqual({ ...DEFAULT_DECODE_OPTIONS, beam: 1, lmWeight: 0.1, lengthPenalty: 0, ctcWeight: 0.7 });
      // A key given as undefined is not given.
      expect(t.resolveDecodeOptions({ beam: undefined }).beam).toBe(3);

      // decode() searches with the recommended beam unless told otherwise.
      const [frames] = randomFrames([37], SMALL_MODEL.inputDim, 6);
      const vocab = new Vocabulary();
      const ids = (hs: { ids: number[] }[]): number[][] => hs.map((h) => h.ids);
      const beam3 = beamDecode(model, vocab, frames!, { ...DEFAULT_DECODE_OPTIONS, beam: 3, nbest: 3, lengthPenalty: 0 });
      expect(beam3.length).toBeGreaterThan(1);
      expect(ids(t.decode(frames!, { nbest: 3 }))).toEqual(ids(beam3));
      expect(ids(t.decode(frames!, { nbest: 3, beam: 1 }))).toEqual(ids(greedyDecode(model, vocab, [frames!])));
      expect(ids(plain.decode(frames!, { nbest: 3 }))).toHaveLength(1);
    } finally {
      t.dispose();
      plain.dispose();
      model.dispose();
    }
  });

  it('a recommended CTC decoder is the default of decode() and decodeBatch(); asking for attention overrides it', async () => {
    const model = untrainedModel({ ...SMALL_MODEL, ctcLayer: 0 }, 5);
    const dir = await saveWithDecoding(model, { decoder: 'ctc' });
    const t = await Transcriber.load(dir, { backend: 'cpu' });
    try {
      const [frames] = randomFrames([37], SMALL_MODEL.inputDim, 6);
      const vocab = new Vocabulary();
      const ctc = ctcGreedyDecode(model, vocab, [frames!]).map((h) => h.ids);
      const attention = greedyDecode(model, vocab, [frames!]).map((h) => h.ids);
      expect(ctc).not.toEqual(attention);
      expect(t.decode(frames!).map((h) => h.ids)).toEqual(ctc);
      expect(t.decodeBatch([frames!]).map((h) => h.ids)).toEqual(ctc);
      expect(t.decode(frames!, { decoder: 'attention' }).map((h) => h.ids)).toEqual(attention);
      expect(t.decodeBatch([frames!], 'attention').map((h) => h.ids)).toEqual(attention);
    } finally {
      t.dispose();
      model.dispose();
    }
  });
});
