/** Word n-gram LM: probabilities, unknown words, prefixes, files, the beam scorer, the transcriber and `koe lm`. */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../src/backend.js';
import { beamDecode } from '../src/decode/beam.js';
import { DEFAULT_DECODE_OPTIONS } from '../src/decode/hypothesis.js';
import { wordLmScorer, type BeamScorer } from '../src/decode/scorers.js';
import { CharNgramLm } from '../src/lm/char-ngram.js';
import { loadAnyLm } from '../src/lm/index.js';
import { UNK, UNK_ID, WORD_EOS_ID, WordNgramLm } from '../src/lm/word-ngram.js';
import { DEFAULT_MODEL_CONFIG } from '../src/model/config.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { EOS, Vocabulary } from '../src/model/vocab.js';
import { Transcriber } from '../src/transcriber.js';
import { randomFrames } from './helpers/random-frames.js';
import { REPO_ROOT, saveModelDir, TempDirs, untrainedModel } from './helpers/tiny-model.js';

const text = ['the cat sat on the mat', 'the dog sat on the log', 'a cat and a dog', 'the cat sat', 'hello world'];
const vocab = new Vocabulary();
const dirs = new TempDirs();
afterAll(() => dirs.cleanup());

/** Sum of P(t | history) over every token of the LM (words, <unk>, </s>). */
function totalProbability(lm: WordNgramLm, history: readonly number[]): number {
  let sum = 0;
  for (let id = 0; id < lm.words.length; id++) sum += Math.exp(lm.logProb(history, id));
  return sum;
}

/** The history after the words of `s` from the start of a sentence. */
function after(lm: WordNgramLm, s: string): readonly number[] {
  return s.split(' ').filter(Boolean).reduce((h, w) => lm.next(h, lm.id(w)), lm.start);
}

describe('word n-gram LM', () => {
  it.each([1, 2, 3])('order %i: probabilities over the vocabulary, <unk> and </s> sum to 1, pruned or not', (order) => {
    for (const minCount of [1, 2]) {
      const lm = WordNgramLm.train(text, { order, minCount });
      for (const h of ['', 'the', 'the cat', 'cat sat on', 'zebra', 'the zebra', 'hello world']) {
        expect(totalProbability(lm, after(lm, h))).toBeCloseTo(1, 10);
      }
    }
  });

  it('is interpolated Witten-Bell (by hand)', () => {
    // Tokens: <unk>, </s>, a, b, c. After nothing: a 2, b 1, c 1, </s> 2 (6 tokens, 4 types).
    const lm = WordNgramLm.train(['a b', 'a c'], { order: 2 });
    expect(lm.words).toEqual([UNK, '</s>', 'a', 'b', 'c']);
    const unigram = (1 + 4 * (1 / 5)) / (6 + 4);
    // After "a": b 1, c 1 (2 tokens, 2 types).
    expect(Math.exp(lm.logProb([lm.id('a')], lm.id('b')))).toBeCloseTo((1 + 2 * unigram) / (2 + 2), 12);
    // The start of a sentence: a 2 (1 type).
    expect(Math.exp(lm.logProb(lm.start, lm.id('a')))).toBeCloseTo((2 + 1 * ((2 + 4 / 5) / 10)) / (2 + 1), 12);
    // Pruning drops the bigrams seen once; the unigrams (and the vocabulary) stay.
    const pruned = WordNgramLm.train(['a b', 'a c'], { order: 2, minCount: 2 });
    expect(pruned.size).toBe(5);
    expect(pruned.vocabularySize).toBe(3);
    expect(Math.exp(pruned.logProb([pruned.id('a')], pruned.id('b')))).toBeCloseTo(unigram, 12);
  });

  it('prefers what it has seen', () => {
    const lm = WordNgramLm.train(text, { order: 3 });
    expect(lm.logProb(after(lm, 'the'), lm.id('cat'))).toBeGreaterThan(lm.logProb(after(lm, 'the'), lm.id('hello')));
    expect(lm.logProb(after(lm, 'hello world'), WORD_EOS_ID)).toBeGreaterThan(Math.log(0.5));
    expect(lm.evaluate(['the cat sat on the mat']).perplexity).toBeLessThan(lm.evaluate(['mat the on sat cat the']).perplexity);
  });

  it('maps unknown words to <unk> and counts them', () => {
    const lm = WordNgramLm.train(text);
    expect(lm.id('zebra')).toBe(UNK_ID);
    expect(lm.id(UNK)).toBe(UNK_ID);
    expect(lm.id('cat')).not.toBe(UNK_ID);
    const unk = lm.logProb(after(lm, 'the'), UNK_ID);
    expect(Number.isFinite(unk)).toBe(true);
    expect(unk).toBeLessThan(lm.logProb(after(lm, 'the'), lm.id('cat')));
    const e = lm.evaluate(['the zebra sat', 'a dog', '']);
    expect(e).toMatchObject({ words: 5, oovWords: 1, oovRate: 0.2, sentences: 2 });
    expect(e.perplexity).toBeGreaterThan(1);
  });

  it('knows every prefix of its words, and only those', () => {
    const lm = WordNgramLm.train(text);
    for (const p of ['c', 'ca', 'cat', 'hel', 'hello', 'wor']) expect(lm.isPrefix(p)).toBe(true);
    for (const p of ['cx', 'cats', 'helo', '<', '<unk>', '</s>', 'z']) expect(lm.isPrefix(p)).toBe(false);
  });

  it('saves and loads; refuses another format with a clear message', async () => {
    const dir = await dirs.make('koe-word-lm-');
    const lm = WordNgramLm.train(text, { order: 3 });
    const file = path.join(dir, 'word-lm.bin');
    await lm.save(file);
    const back = await WordNgramLm.load(file);
    expect(back.order).toBe(3);
    expect(back.words).toEqual(lm.words);
    expect(back.size).toBe(lm.size);
    for (const h of ['', 'the', 'the cat', 'zebra']) {
      for (const w of ['cat', 'sat', 'zebra', 'the']) expect(back.logProb(after(back, h), back.id(w))).toBe(lm.logProb(after(lm, h), lm.id(w)));
    }
    expect(back.isPrefix('hel')).toBe(true);

    const charFile = path.join(dir, 'lm.bin');
    await CharNgramLm.train(text, { order: 3 }).save(charFile);
    await expect(WordNgramLm.load(charFile)).rejects.toThrow(/lm\.bin is not a koe word LM of format version 1: it is a character LM/);
    await expect(CharNgramLm.load(file)).rejects.toThrow(/word-lm\.bin is not a koe character LM/);
    expect((await loadAnyLm(file)).kind).toBe('word');
    expect((await loadAnyLm(charFile)).kind).toBe('char');
    const other = path.join(dir, 'other.txt');
    await writeFile(other, 'not gzip');
    await expect(WordNgramLm.load(other)).rejects.toThrow(/is corrupt or not a koe LM/);
    await expect(loadAnyLm(other)).rejects.toThrow(/is corrupt or not a koe LM/);
    await expect(WordNgramLm.load(path.join(dir, 'missing.bin'))).rejects.toThrow(/language model .*missing\.bin not found/);
  });
});

/** Per-symbol scores of `scorer` over the characters of `s` (and EOS if `end`). */
function scores<S>(scorer: BeamScorer<S>, s: string, end = true): number[] {
  let state = scorer.initial();
  const out: number[] = [];
  for (const symbol of [...vocab.encode(s), ...(end ? [EOS] : [])]) {
    const r = scorer.extend(state, symbol);
    out.push(r.score);
    state = r.state;
  }
  return out;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('word-LM beam scorer', () => {
  const lm = WordNgramLm.train(['the cat sat', 'the dog sat'], { order: 2 });
  const lp = (prev: string, word: string): number => lm.logProb(prev ? [lm.id(prev)] : lm.start, word === '</s>' ? WORD_EOS_ID : lm.id(word));
  const scorer = wordLmScorer(lm, vocab, 0.5, 2, 1);

  it('scores known words at their ends, and the end of the sentence', () => {
    const s = scores(scorer, 'the cat');
    expect(s.slice(0, 3)).toEqual([0, 0, 0]);
    expect(s[3]).toBeCloseTo(0.5 * lp('', 'the') + 1, 12);
    expect(s.slice(4, 7)).toEqual([0, 0, 0]);
    expect(s[7]).toBeCloseTo(0.5 * lp('the', 'cat') + 1 + 0.5 * lp('cat', '</s>'), 12);
    // A double space is no word.
    expect(sum(scores(scorer, 'the  cat'))).toBeCloseTo(sum(s), 12);
  });

  it('charges the OOV penalty once, where the word leaves the vocabulary, and scores it as <unk>', () => {
    const s = scores(scorer, 'the cax sat');
    // "ca" still begins "cat"; "cax" begins no word.
    expect(s.slice(4, 6)).toEqual([0, 0]);
    expect(s[6]).toBe(-2);
    expect(s[7]).toBeCloseTo(0.5 * lp('the', UNK) + 1, 12);
    expect(s[11]).toBeCloseTo(0.5 * lm.logProb([UNK_ID], lm.id('sat')) + 1 + 0.5 * lp('sat', '</s>'), 12);
    expect(s.filter((x) => x === -2)).toHaveLength(1);
    // A word that only begins known words pays at its end.
    const prefixOnly = scores(scorer, 'the ca', true);
    expect(prefixOnly.at(-1)).toBeCloseTo(0.5 * lp('the', UNK) + 1 - 2 + 0.5 * lm.logProb([UNK_ID], WORD_EOS_ID), 12);
    expect(prefixOnly.slice(0, -1).every((x) => x === 0 || x === prefixOnly[3])).toBe(true);
  });

  it('looks up at most one prefix per character', () => {
    const spy = vi.spyOn(lm, 'isPrefix');
    const s = 'the caxxxx dog sat';
    scores(scorer, s);
    expect(spy.mock.calls.length).toBeLessThanOrEqual(s.replace(/ /g, '').length);
    // Once out of the vocabulary, a word needs no more lookups.
    expect(spy.mock.calls.map((c) => c[0])).not.toContain('caxx');
    spy.mockRestore();
  });
});

describe('word LM in beam search', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('a strong word LM steers an untrained model to its sentence', () => {
    const model = Seq2Seq.create({ ...DEFAULT_MODEL_CONFIG, encoderUnits: 16, attentionDim: 16, decoderUnits: 16, outputDim: 16 }, 1);
    const [utt] = randomFrames([120], 39, 2);
    const strong = WordNgramLm.train(['hello world', 'hello world'], { order: 2 });
    const opts = { ...DEFAULT_DECODE_OPTIONS, beam: 4, lengthPenalty: 0 };
    const plain = beamDecode(model, vocab, utt!, opts);
    const fused = beamDecode(model, vocab, utt!, opts, [wordLmScorer(strong, vocab, 10, 20, 0) as BeamScorer]);
    expect(plain[0]!.text).not.toBe('hello world');
    expect(fused[0]!.text).toBe('hello world');
    model.dispose();
  });

  it('the transcriber loads word-lm.bin from the model directory, or the file given, or none', async () => {
    const dir = await dirs.make('koe-word-lm-model-');
    const model = untrainedModel();
    await saveModelDir(dir, model);
    model.dispose();
    const without = await Transcriber.load(dir, { backend: 'wasm' });
    expect(without.wordLanguageModel).toBeUndefined();
    without.dispose();
    await WordNgramLm.train(text).save(path.join(dir, 'word-lm.bin'));
    const other = path.join(await dirs.make('koe-word-lm-other-'), 'other.bin');
    await WordNgramLm.train(['hello world']).save(other);
    const [byDir, byFile, none] = await Promise.all([
      Transcriber.load(dir, { backend: 'wasm' }),
      Transcriber.load(dir, { backend: 'wasm', wordLm: other }),
      Transcriber.load(dir, { backend: 'wasm', wordLm: false }),
    ]);
    expect(byDir.wordLanguageModel?.vocabularySize).toBe(11);
    expect(byFile.wordLanguageModel?.vocabularySize).toBe(2);
    expect(none.wordLanguageModel).toBeUndefined();
    expect(byDir.languageModel).toBeUndefined();
    for (const t of [byDir, byFile, none]) t.dispose();
    await expect(Transcriber.load(dir, { backend: 'wasm', wordLm: path.join(dir, 'nope.bin') })).rejects.toThrow(/language model .*nope\.bin not found/);
  });
});

describe('koe lm through the CLI', () => {
  const koe = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin', 'koe.js'), ...args], { cwd: REPO_ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  it('koe lm train --unit word, koe lm eval (either kind), koe info', async () => {
    const dir = await dirs.make('koe-lm-cli-');
    const corpus = path.join(dir, 'train.txt');
    await writeFile(corpus, text.join('\n') + '\n');
    const manifest = path.join(dir, 'held-out.jsonl');
    await writeFile(manifest, [{ text: 'the cat sat on the log' }, { text: 'a zebra' }].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const model = untrainedModel();
    await saveModelDir(dir, model);
    model.dispose();
    const [word, char] = await Promise.all([
      koe(['lm', 'train', '--unit', 'word', corpus, '-o', path.join(dir, 'word-lm.bin')]),
      koe(['lm', 'train', '--order', '4', corpus, '-o', path.join(dir, 'lm.bin')]),
    ]);
    expect(word.code, word.stderr).toBe(0);
    expect(word.stdout).toMatch(/word-lm\.bin: word LM, order 3, 11 words, [\d,]+ n-grams from 5 sentences/);
    expect(char.code, char.stderr).toBe(0);
    expect(char.stdout).toMatch(/lm\.bin: order 4, [\d,]+ n-grams from 5 sentences/);

    const [wordEval, charEval, badEval, badUnit, info] = await Promise.all([
      koe(['lm', 'eval', path.join(dir, 'word-lm.bin'), manifest]),
      koe(['lm', 'eval', path.join(dir, 'lm.bin'), manifest]),
      koe(['lm', 'eval', manifest, manifest]),
      koe(['lm', 'train', '--unit', 'phone', corpus, '-o', path.join(dir, 'x.bin')]),
      koe(['--backend', 'wasm', 'info', '--model', dir, '--json']),
    ]);
    expect(wordEval.code, wordEval.stderr).toBe(0);
    expect(wordEval.stdout).toMatch(/^perplexity \d+\.\d\d per word \(unknown words as <unk>\), OOV rate 12\.50% \(1 of 8 words\) on 2 sentences$/m);
    expect(charEval.code, charEval.stderr).toBe(0);
    expect(charEval.stdout).toMatch(/^\d\.\d{4} bits per character on 2 sentences$/m);
    expect(badEval.code).toBe(1);
    expect(badEval.stderr).toMatch(/held-out\.jsonl is corrupt or not a koe LM/);
    expect(badUnit.code).not.toBe(0);
    expect(badUnit.stderr).toMatch(/--unit must be one of char, word/);
    expect(info.code, info.stderr).toBe(0);
    const lms = (JSON.parse(info.stdout) as { languageModels: { file: string; kind: string; order: number; bytes: number }[] }).languageModels;
    expect(lms.map(({ file, kind, order }) => ({ file, kind, order }))).toEqual([
      { file: 'lm.bin', kind: 'char', order: 4 },
      { file: 'word-lm.bin', kind: 'word', order: 3 },
    ]);
    expect(lms.every((l) => l.bytes > 0)).toBe(true);
  });

  it('transcribe, eval and listen document the word-LM flags and their defaults', async () => {
    const d = DEFAULT_DECODE_OPTIONS;
    const recommended = (flag: string, value: number): RegExp =>
      new RegExp(`${flag}(?:(?!\\n\\s+-)[^])*?\\(default:\\s+the\\s+model's\\s+recommended\\s+setting,\\s+else\\s+${String(value).replace('.', '\\.')}\\)`);
    const helps = await Promise.all(['transcribe', 'eval', 'listen'].map((c) => koe([c, '--help'])));
    for (const r of helps) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/--word-lm <file>\s+word\s+language\s+model\s+for\s+beam\s+search\s+\(default:\s+the\s+model\s+directory's\s+word-lm\.bin\s+if\s+present\)/);
      expect(r.stdout).toContain('--no-word-lm');
      expect(r.stdout).toMatch(recommended('--word-lm-weight <x>', d.wordLmWeight));
      expect(r.stdout).toMatch(recommended('--oov-penalty <x>', d.oovPenalty));
      expect(r.stdout).toMatch(recommended('--word-bonus <x>', d.wordBonus));
    }
  });
});
