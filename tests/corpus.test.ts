/**
 * Corpus builder (scripts/corpus): text cleaning and splitting, the deterministic plan, and an
 * end-to-end build of a tiny corpus with two voices (espeak-ng for train/valid, flite rms held out
 * for test). The end-to-end part needs espeak-ng, flite and sox (`sudo bash scripts/setup-tts.sh`)
 * and is skipped, with the reason printed, where they are missing.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readManifest, type ManifestEntry } from '../src/io/manifest.js';
import { isNormalizedText } from '../src/text/normalize.js';
import { buildCorpus, defaultOptions, type BuildOptions } from '../scripts/corpus/build-corpus.js';
import { planSplit, type PlanOptions } from '../scripts/corpus/plan.js';
import { cleanSentence, splitPools, splitSentences, stripOsis, type Sentence } from '../scripts/corpus/text.js';
import { DEFAULT_ENGINE_WEIGHTS, DEFAULT_ESPEAK_VARIANTS, parseVoiceList, voiceId, which } from '../scripts/corpus/voices.js';
import { readWavHeader } from '../scripts/corpus/wav.js';

const REQUIRED = ['espeak-ng', 'flite', 'sox'];
const missing = REQUIRED.filter((c) => !which(c));
const skipReason = missing.length ? `${missing.join(', ')} not installed (run: sudo bash scripts/setup-tts.sh)` : '';
if (skipReason) console.warn(`[corpus.test] skipping the end-to-end corpus build: ${skipReason}`);

const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'A journey of a thousand miles begins with a single step.',
  'She sells sea shells by the sea shore every morning.',
  'Every cloud has a silver lining, or so they say.',
  'The early bird catches the worm, but the second mouse gets the cheese.',
  "Don't count your chickens before they hatch.",
  'Time flies like an arrow and fruit flies like a banana.',
  'He reads the newspaper quietly in the garden after lunch.',
  'Many hands make light work when the task is heavy.',
  'Actions speak louder than words in most situations.',
  'The rain in the valley fell softly through the night.',
  'Knowledge is power, but enthusiasm pulls the switch.',
  'We walked along the river until the sun went down.',
  'Please close the window before you leave the room.',
];

function sentence(text: string): Sentence {
  return { speak: text, text: text.toLowerCase(), source: 'test' };
}

describe('corpus text', () => {
  it('splits running text into sentences', () => {
    expect(splitSentences('He came. She left!  "Why?" he asked.\nThen it rained')).toEqual([
      'He came.',
      'She left!',
      '"Why?" he asked.',
      'Then it rained',
    ]);
  });

  it('cleans sentences into a speakable form and a normalized transcript', () => {
    const c = cleanSentence('\u201cWell-known\u201d facts -- like THIS one -- don\u2019t lie, said the man.');
    expect(c).not.toBeNull();
    expect(c!.text).toBe("well known facts like this one don't lie said the man");
    expect(c!.speak).toBe("Well known facts, like this one, don't lie, said the man.");
    expect(isNormalizedText(c!.text)).toBe(true);
  });

  it('rejects what it cannot say unambiguously, and wrong lengths', () => {
    expect(cleanSentence('There were 3 apples on the old wooden table.')).toBeNull(); // digit
    expect(cleanSentence('Tom & Jerry ran around the big house again.')).toBeNull(); // symbol
    expect(cleanSentence('Mr Smith went to the market on his own.')).toBeNull(); // abbreviation
    expect(cleanSentence('It was written by J. Smith in the spring.')).toBeNull(); // initial
    expect(cleanSentence('King Henry VIII had several wives in total.')).toBeNull(); // roman numeral
    expect(cleanSentence('Too short.')).toBeNull();
    expect(cleanSentence(Array(21).fill('word').join(' '))).toBeNull();
    expect(cleanSentence('Caf\u00e9 owners opened the doors very early today.')).toBeNull(); // accent
  });

  it('strips OSIS markup and notes from Bible verses', () => {
    const xml = '<w lemma="x">In</w> <w lemma="y">the</w> beginning, <w>God</w><note placement="foot">a note</note><w>created</w>.';
    expect(stripOsis(xml).replace(/\s+/g, ' ').trim()).toBe('In the beginning, God created.');
  });

  it('splits sentence pools disjointly and reproducibly, independent of input order', () => {
    const all = Array.from({ length: 100 }, (_, i) => sentence(`sentence number ${'x'.repeat(i + 1)} is here`));
    const a = splitPools(all, 10, 8, 42);
    const b = splitPools([...all].reverse(), 10, 8, 42);
    expect(a).toEqual(b);
    expect([a.train.length, a.valid.length, a.test.length]).toEqual([82, 10, 8]);
    const texts = [a.train, a.valid, a.test].map((p) => new Set(p.map((s) => s.text)));
    expect([...texts[0]!].some((t) => texts[1]!.has(t) || texts[2]!.has(t))).toBe(false);
    expect([...texts[1]!].some((t) => texts[2]!.has(t))).toBe(false);
    expect(splitPools(all, 10, 8, 43).valid).not.toEqual(a.valid);
  });

  it('plans utterances deterministically and prefix-stably, test with held-out voices only', () => {
    const pool = SENTENCES.map(sentence);
    const opts: PlanOptions = {
      seed: 5,
      trainVoices: parseVoiceList('espeak-ng,mbrola,flite,festival,pico'),
      testVoices: parseVoiceList('flite:rms,festival:ked_diphone', 'all'),
      engineWeights: DEFAULT_ENGINE_WEIGHTS,
      espeakVariants: [...DEFAULT_ESPEAK_VARIANTS],
      augment: { speeds: [0.9, 1, 1.1], speedMode: 'random', noise: 0.5, snr: [10, 30], noiseTypes: ['white', 'pink'], telephone: 0.2, augmentEval: false },
    };
    const small = planSplit('train', pool, 10, opts);
    const big = planSplit('train', pool, 40, opts);
    expect(big.slice(0, 10)).toEqual(small);
    const test = planSplit('test', pool, 40, opts);
    expect(new Set(test.map((t) => voiceId(t.rendering.voice)))).toEqual(new Set(['flite:rms', 'festival:ked_diphone']));
    expect(test.every((t) => t.outputs.every((o) => o.speed === 1 && !o.noise && !o.telephone))).toBe(true);
    expect(big.some((t) => t.outputs[0]!.speed !== 1)).toBe(true);
    const copies = planSplit('train', pool, 3, { ...opts, augment: { ...opts.augment, speedMode: 'copies' } });
    expect(copies.map((c) => c.outputs.map((o) => o.id))[0]).toEqual(['train-000000_sp0.9', 'train-000000_sp1.0', 'train-000000_sp1.1']);
  });

  it('refuses a held-out voice among the training voices', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'koe-corpus-'));
    try {
      await expect(
        buildCorpus(defaultOptions({ out: dir, voices: 'flite:rms', quiet: true, log: () => {} })),
      ).rejects.toThrow(/held out/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function soxi(flag: string, file: string): string {
  return execFileSync('soxi', [flag, file], { encoding: 'utf8' }).trim();
}

describe.skipIf(skipReason !== '')(`corpus build end to end${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir = '';
  let textFile = '';
  let options: BuildOptions;
  const manifests: Record<string, ManifestEntry[]> = {};
  let firstRun: Awaited<ReturnType<typeof buildCorpus>>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'koe-corpus-'));
    textFile = path.join(dir, 'sentences.txt');
    writeFileSync(textFile, SENTENCES.join('\n') + '\n');
    options = defaultOptions({
      out: path.join(dir, 'corpus'),
      train: 6,
      valid: 2,
      test: 2,
      seed: 7,
      sources: [],
      textFiles: [textFile],
      voices: 'espeak-ng:en-us',
      testVoices: 'flite:rms',
      workers: 2,
      quiet: true,
      log: () => {},
      augment: { speeds: [0.9, 1, 1.1], speedMode: 'random', noise: 0.5, snr: [10, 30], noiseTypes: ['white', 'pink', 'brown'], telephone: 0.5, augmentEval: false },
    });
    firstRun = await buildCorpus(options);
    for (const split of ['train', 'valid', 'test']) manifests[split] = await readManifest(path.join(options.out, `${split}.jsonl`));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes one manifest per split with relative paths, transcripts, durations and voices', () => {
    expect(firstRun.failed).toBe(0);
    expect(manifests['train']!.length).toBe(6);
    expect(manifests['valid']!.length).toBe(2);
    expect(manifests['test']!.length).toBe(2);
    for (const [split, entries] of Object.entries(manifests)) {
      for (const e of entries) {
        expect(e.raw['audio_filepath']).toMatch(new RegExp(`^audio/${split}/000/${split}-\\d{6}\\.wav$`));
        expect(existsSync(e.audioFilepath)).toBe(true);
        expect(isNormalizedText(e.text)).toBe(true);
        expect(SENTENCES.map((s) => cleanSentence(s)!.text)).toContain(e.text);
        expect(e.duration).toBeGreaterThan(0.5);
        expect(e.raw['split']).toBe(split);
        expect(typeof e.raw['voice']).toBe('string');
      }
    }
  });

  it('keeps splits disjoint: no shared sentence, test spoken only by the held-out voice', () => {
    const texts = (s: string): Set<string> => new Set(manifests[s]!.map((e) => e.text));
    const [train, valid, test] = [texts('train'), texts('valid'), texts('test')];
    for (const t of valid) expect(train.has(t)).toBe(false);
    for (const t of test) expect(train.has(t) || valid.has(t)).toBe(false);
    const voices = (s: string): Set<unknown> => new Set(manifests[s]!.map((e) => e.raw['voice']));
    expect(voices('train')).toEqual(new Set(['espeak-ng:en-us']));
    expect(voices('valid')).toEqual(new Set(['espeak-ng:en-us']));
    expect(voices('test')).toEqual(new Set(['flite:rms']));
  });

  it('writes 16 kHz mono 16-bit PCM WAVs whose durations match the manifests', async () => {
    for (const entries of Object.values(manifests)) {
      for (const e of entries) {
        expect(soxi('-r', e.audioFilepath)).toBe('16000');
        expect(soxi('-c', e.audioFilepath)).toBe('1');
        expect(soxi('-b', e.audioFilepath)).toBe('16');
        expect(soxi('-e', e.audioFilepath)).toBe('Signed Integer PCM');
        expect(Math.abs(Number(soxi('-D', e.audioFilepath)) - e.duration!)).toBeLessThan(0.002);
        const h = await readWavHeader(e.audioFilepath);
        expect([h.sampleRate, h.channels, h.bitsPerSample]).toEqual([16000, 1, 16]);
      }
    }
    // Augmentation reached the training split only.
    const train = manifests['train']!;
    expect(train.some((e) => e.raw['speed'] !== 1 || e.raw['noise'] || e.raw['telephone'])).toBe(true);
    for (const s of ['valid', 'test']) {
      expect(manifests[s]!.every((e) => e.raw['speed'] === 1 && e.raw['noise'] === null && e.raw['telephone'] === false)).toBe(true);
    }
  });

  it('writes summary.json with hours, sentences, words and vocabulary per split and voice', () => {
    const summary = JSON.parse(readFileSync(path.join(options.out, 'summary.json'), 'utf8'));
    expect(summary.splits.train.utterances).toBe(6);
    expect(summary.splits.test.voices['flite:rms'].utterances).toBe(2);
    const seconds = manifests['train']!.reduce((a, e) => a + e.duration!, 0);
    expect(summary.splits.train.hours).toBeCloseTo(seconds / 3600, 3);
    expect(summary.splits.train.sentences).toBe(new Set(manifests['train']!.map((e) => e.text)).size);
    expect(summary.splits.valid.words).toBe(manifests['valid']!.reduce((a, e) => a + e.text.split(' ').length, 0));
    expect(summary.splits.train.vocabulary).toBeGreaterThan(10);
    expect(summary.sharedSentences).toEqual({ trainValid: 0, trainTest: 0, validTest: 0 });
    expect(summary.testVoicesSeenInTraining).toEqual([]);
  });

  it('resumes without redoing finished files and clears leftovers of an interrupted run', async () => {
    const files = Object.values(manifests).flat().map((e) => e.audioFilepath);
    const mtimes = new Map(files.map((f) => [f, statSync(f).mtimeMs]));
    const victim = files[1]!;
    unlinkSync(victim);
    const stale = path.join(path.dirname(victim), '.train-000003.99999.out.tmp.wav');
    writeFileSync(stale, 'half a file');
    const again = await buildCorpus(options);
    expect(again.summary.run?.made).toBe(1);
    expect(existsSync(victim)).toBe(true);
    expect(existsSync(stale)).toBe(false);
    for (const f of files) if (f !== victim) expect(statSync(f).mtimeMs).toBe(mtimes.get(f));
    expect((await readManifest(path.join(options.out, 'train.jsonl'))).length).toBe(6);
    // Other options on the same folder are refused rather than mixed in.
    await expect(buildCorpus({ ...options, seed: 8 })).rejects.toThrow(/other options/);
  });

  it('logs an engine failure on one sentence and skips it', async () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const cmd of ['espeak-ng', 'flite']) {
      const real = which(cmd)!;
      const wrapper = path.join(bin, cmd);
      writeFileSync(
        wrapper,
        `#!/bin/sh\nfor a in "$@"; do case "$a" in *zebra*) echo "fake engine failure" >&2; exit 3;; esac; done\nexec ${real} "$@"\n`,
      );
      chmodSync(wrapper, 0o755);
    }
    const text = path.join(dir, 'failing.txt');
    const lines = SENTENCES.slice(0, 6).concat(['A zebra crossed the road without looking.', 'The zebra in the zoo was asleep all day.']);
    writeFileSync(text, lines.join('\n') + '\n');
    const oldPath = process.env['PATH'];
    process.env['PATH'] = `${bin}${path.delimiter}${oldPath}`;
    try {
      const out = path.join(dir, 'failing-corpus'); // (no "zebra" in paths: the wrapper looks at every argument)
      const r = await buildCorpus({ ...options, out, textFiles: [text], train: 6, valid: 1, test: 1 });
      expect(r.failed).toBe(2);
      const failures = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(failures).toHaveLength(2);
      for (const f of failures) {
        expect(f.speak).toMatch(/zebra/);
        expect(f.error).toMatch(/fake engine failure/);
      }
      const all = ['train', 'valid', 'test'].flatMap((s) => readFileSync(path.join(out, `${s}.jsonl`), 'utf8').trim().split('\n'));
      expect(all).toHaveLength(6);
      expect(all.some((l) => l.includes('zebra'))).toBe(false);
      expect(r.summary.splits.train.missing + r.summary.splits.valid.missing + r.summary.splits.test.missing).toBe(2);
    } finally {
      process.env['PATH'] = oldPath;
    }
  });
});
