/** Character n-gram LM, shallow fusion and hot words in beam search. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { beamDecode } from '../src/decode/beam.js';
import { DEFAULT_DECODE_OPTIONS } from '../src/decode/hypothesis.js';
import { hotwordScorer, lmScorer, type BeamScorer } from '../src/decode/scorers.js';
import { CharNgramLm, LM_EOS } from '../src/lm/char-ngram.js';
import { DEFAULT_MODEL_CONFIG } from '../src/model/config.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { EOS, Vocabulary } from '../src/model/vocab.js';
import { randomFrames } from './helpers/random-frames.js';

const text = ['the cat sat on the mat', 'the dog sat on the log', 'a cat and a dog', 'hello world'];
const vocab = new Vocabulary();
const ids = (s: string): number[] => vocab.encode(s);

describe('character n-gram LM', () => {
  const lm = CharNgramLm.train(text, { order: 4, minCount: 1 });

  it('gives a probability distribution after any history', () => {
    for (const h of ['', 'the c', 'zzz', "don't"]) {
      const total = [...lm.distribution(h).values()].reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(1, 6);
    }
  });

  it('prefers what it has seen', () => {
    expect(lm.logProb('the c', 'a')).toBeGreaterThan(lm.logProb('the c', 'o'));
    expect(lm.logProb('hello worl', 'd')).toBeGreaterThan(Math.log(0.5));
    expect(lm.logProb('hello world', LM_EOS)).toBeGreaterThan(Math.log(0.5));
    expect(lm.bitsPerChar(['the cat sat on the log'])).toBeLessThan(lm.bitsPerChar(['zebras quickly vex jumpy fowl']));
  });

  it('saves and loads', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'koe-lm-'));
    try {
      await lm.save(path.join(dir, 'lm.bin'));
      const back = await CharNgramLm.load(path.join(dir, 'lm.bin'));
      expect(back.logProb('the c', 'a')).toBeCloseTo(lm.logProb('the c', 'a'), 10);
      await expect(CharNgramLm.load(path.join(dir, 'missing.bin'))).rejects.toThrow(/not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function run<S>(scorer: BeamScorer<S>, symbols: number[]): number {
  let state = scorer.initial();
  let total = 0;
  for (const s of symbols) {
    const r = scorer.extend(state, s);
    total += r.score;
    state = r.state;
  }
  return total;
}

describe('hot words', () => {
  const scorer = hotwordScorer(['koe', 'tensor'], vocab, 2);
  it('keeps the boost only for whole hot words', () => {
    expect(run(scorer, [...ids('say koe'), EOS])).toBe(6);
    expect(run(scorer, [...ids('say koel now'), EOS])).toBe(0);
    expect(run(scorer, [...ids('tens of'), EOS])).toBe(0);
    expect(run(scorer, [...ids('tensor tensor'), EOS])).toBe(24);
  });
});

describe('shallow fusion in beam search', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('a strong LM steers an untrained model to its sentence', () => {
    const model = Seq2Seq.create({ ...DEFAULT_MODEL_CONFIG, encoderUnits: 16, attentionDim: 16, decoderUnits: 16, outputDim: 16 }, 1);
    const [utt] = randomFrames([120], 39, 2);
    const strong = CharNgramLm.train(['hello world', 'hello world'], { order: 6, minCount: 1 });
    const opts = { ...DEFAULT_DECODE_OPTIONS, beam: 4, lengthPenalty: 0 };
    const plain = beamDecode(model, vocab, utt!, opts);
    const fused = beamDecode(model, vocab, utt!, opts, [lmScorer(strong, vocab, 20, 0) as BeamScorer]);
    expect(fused[0]!.text).toBe('hello world');
    expect(plain[0]!.text).not.toBe('hello world');
    // The hypothesis keeps the acoustic log-probability for its confidence.
    expect(fused[0]!.logProb).toBeLessThan(0);
    model.dispose();
  });
});
