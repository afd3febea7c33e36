/**
 * Decoding mechanics: beam search of width 1 is greedy decoding; the n-best list is sorted and
 * every hypothesis is scored as the model scores it; the length limit stops a model that never
 * ends and says so; batching does not change results; and repeated decoding leaks no tensors.
 * A lightly trained small model (30 steps) supplies hypotheses of varied lengths that end by
 * themselves; untrained models with a doctored end-symbol bias supply the edge cases.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAudio } from '../src/audio/index.js';
import { initBackend } from '../src/backend.js';
import { beamDecode } from '../src/decode/beam.js';
import { greedyDecode } from '../src/decode/greedy.js';
import { DEFAULT_DECODE_OPTIONS, defaultMaxLength, type DecodeOptions, type Hypothesis } from '../src/decode/hypothesis.js';
import type { FeatureMatrix } from '../src/features/index.js';
import { readManifest } from '../src/io/manifest.js';
import type { Frames } from '../src/model/batch.js';
import type { Seq2Seq } from '../src/model/seq2seq.js';
import { EOS, SOS, Vocabulary } from '../src/model/vocab.js';
import { SAMPLE_RATE, Transcriber } from '../src/transcriber.js';
import { randomFrames } from './helpers/random-frames.js';
import { SMALL_MODEL, TempDirs, TINY_MANIFEST, trainSmallModel, untrainedModel } from './helpers/tiny-model.js';

const dirs = new TempDirs();
const vocab = new Vocabulary();
let transcriber: Transcriber;
let model: Seq2Seq;
/** Normalized features of the eight fixture utterances, then four random ones of other lengths. */
let utterances: Frames[];

function beamOptions(over: Partial<DecodeOptions>): DecodeOptions {
  return { ...DEFAULT_DECODE_OPTIONS, ...over };
}

/** A model whose end symbol gets `bias` added to its logit (−1e4: it never ends). */
function withEndBias(seed: number, bias: number): Seq2Seq {
  const m = untrainedModel(SMALL_MODEL, seed);
  const b2 = m.params.get('out.b2');
  const values = Array.from(b2.dataSync());
  values[EOS] = bias;
  b2.assign(tf.tensor1d(values));
  return m;
}

/** Log-probability the model gives each hypothesis's characters (and end symbol, if it ended), one step at a time. */
function sequenceLogProbs(m: Seq2Seq, utterance: Frames, hyps: readonly Hypothesis[]): number[] {
  return tf.tidy(() => {
    const mem = m.memory(m.encode([utterance]));
    return hyps.map((h) =>
      tf.tidy(() => {
        let state = m.initialState(mem);
        let input = SOS;
        let total = 0;
        for (const y of h.finished ? [...h.ids, EOS] : h.ids) {
          const r = m.step(mem, state, m.oneHot([input]));
          total += tf.logSoftmax(r.logits).dataSync()[y] as number;
          state = r.state;
          input = y;
        }
        return total;
      }),
    );
  });
}

function expectSameHypothesis(a: Hypothesis, b: Hypothesis, what: string): void {
  expect(a.text, what).toBe(b.text);
  expect(a.ids, what).toEqual(b.ids);
  expect(a.finished, what).toBe(b.finished);
  expect(Math.abs(a.logProb - b.logProb), what).toBeLessThan(1e-4);
  expect(a.charLogProbs.length, what).toBe(b.charLogProbs.length);
  a.charLogProbs.forEach((lp, i) => expect(Math.abs(lp - (b.charLogProbs[i] as number)), what).toBeLessThan(1e-4));
}

/** Hypotheses as they should be: characters only, text spelled from them, scores consistent with the model. */
function expectWellFormed(m: Seq2Seq, utterance: Frames, hyps: readonly Hypothesis[], lengthPenalty: number): void {
  const rescored = sequenceLogProbs(m, utterance, hyps);
  hyps.forEach((h, i) => expectWellFormedOne(h, rescored[i] as number, m.config.vocabSize, lengthPenalty));
}

function expectWellFormedOne(h: Hypothesis, modelLogProb: number, vocabSize: number, lengthPenalty: number): void {
  for (const id of h.ids) {
    expect(id).toBeGreaterThan(EOS);
    expect(id).toBeLessThan(vocabSize);
  }
  expect(h.text).toBe(vocab.decode(h.ids));
  expect(h.text).toMatch(/^[a-z' ]*$/);
  expect(h.charLogProbs).toHaveLength(h.ids.length);
  const symbols = h.ids.length + (h.finished ? 1 : 0);
  expect(Math.abs(h.logProb - modelLogProb)).toBeLessThan(1e-3);
  // The characters' log-probabilities plus (when it ended) the end symbol's make up the total.
  const chars = h.charLogProbs.reduce((s, x) => s + x, 0);
  if (h.finished) expect(chars).toBeGreaterThan(h.logProb);
  else expect(Math.abs(chars - h.logProb)).toBeLessThan(1e-4);
  expect(h.score).toBeCloseTo(h.logProb / Math.pow(Math.max(1, symbols), lengthPenalty), 6);
  expect(h.confidence).toBeCloseTo(Math.exp(h.logProb / Math.max(1, symbols)), 6);
  expect(h.confidence).toBeGreaterThan(0);
  expect(h.confidence).toBeLessThanOrEqual(1);
}

beforeAll(async () => {
  await initBackend('wasm');
  const dir = await dirs.make('koe-decode-');
  await trainSmallModel(dir, 30);
  transcriber = await Transcriber.load(dir, { backend: 'wasm' });
  model = transcriber.loaded.model;
  const features: FeatureMatrix[] = [];
  for (const e of await readManifest(TINY_MANIFEST)) features.push(transcriber.features(await loadAudio(e.audioFilepath, SAMPLE_RATE)));
  utterances = [...features, ...randomFrames([7, 33, 150, 61], SMALL_MODEL.inputDim, 21)];
}, 120_000);

afterAll(async () => {
  transcriber?.dispose();
  await dirs.cleanup();
});

describe('beam search', () => {
  it('with width 1 is greedy decoding', () => {
    const outcomes = { ended: 0, endedEmpty: 0, cut: 0 };
    const check = (m: Seq2Seq, u: Frames, maxLength: number | undefined, what: string): void => {
      const [greedy] = greedyDecode(m, vocab, [u], { maxLength });
      const beam = beamDecode(m, vocab, u, beamOptions({ beam: 1, nbest: 1, maxLength }));
      expect(beam).toHaveLength(1);
      expectSameHypothesis(beam[0]!, greedy!, what);
      if (!greedy!.finished) outcomes.cut++;
      else if (greedy!.ids.length > 0) outcomes.ended++;
      else outcomes.endedEmpty++;
    };
    utterances.forEach((u, i) => {
      check(model, u, undefined, `utterance ${i}`);
      check(model, u, 4, `utterance ${i}, maxLength 4`);
    });
    for (const bias of [-1e4, 5]) {
      const m = withEndBias(2, bias);
      check(m, utterances[0]!, 9, `end bias ${bias}`);
      m.dispose();
    }
    // All three ways a hypothesis can come out were compared.
    expect(outcomes.ended).toBeGreaterThan(0);
    expect(outcomes.endedEmpty).toBeGreaterThan(0);
    expect(outcomes.cut).toBeGreaterThan(0);
  });

  for (const lengthPenalty of [0, 1]) {
    it(`returns the n best sorted by score, each one ended and scored as the model scores it (length penalty ${lengthPenalty})`, () => {
      let lists = 0;
      for (const u of utterances.slice(0, 5)) {
        const nbest = beamDecode(model, vocab, u, beamOptions({ beam: 5, nbest: 5, lengthPenalty }));
        expect(nbest.length).toBeGreaterThanOrEqual(1);
        expect(nbest.length).toBeLessThanOrEqual(5);
        if (nbest.length > 1) lists++;
        for (let i = 1; i < nbest.length; i++) expect(nbest[i]!.score).toBeLessThanOrEqual(nbest[i - 1]!.score);
        expect(new Set(nbest.map((h) => h.ids.join(','))).size).toBe(nbest.length);
        const finished = nbest.filter((h) => h.finished);
        // Hypotheses that ended are returned in preference to ones cut at the length limit.
        if (finished.length > 0) expect(finished).toHaveLength(nbest.length);
        expectWellFormed(model, u, nbest, lengthPenalty);

        // Asking for fewer gives the top of the same list.
        const top2 = beamDecode(model, vocab, u, beamOptions({ beam: 5, nbest: 2, lengthPenalty }));
        expect(top2.map((h) => h.ids)).toEqual(nbest.slice(0, 2).map((h) => h.ids));
      }
      expect(lists).toBeGreaterThan(0);
    });
  }
});

describe('the length limit', () => {
  it('stops a model that never emits the end symbol and marks the result unfinished', () => {
    const m = withEndBias(3, -1e4);
    const u = utterances[2]!;
    const [greedy] = greedyDecode(m, vocab, [u], { maxLength: 12 });
    expect(greedy!.finished).toBe(false);
    expect(greedy!.ids).toHaveLength(12);
    expectWellFormed(m, u, [greedy!], 0);

    const beam = beamDecode(m, vocab, u, beamOptions({ beam: 3, nbest: 3, maxLength: 12 }));
    expect(beam).toHaveLength(3);
    for (const h of beam) {
      expect(h.finished).toBe(false);
      expect(h.ids).toHaveLength(12);
      // No end symbol was forced onto it: its log-probability is that of its characters alone.
      expect(h.logProb).toBeGreaterThan(-1000);
    }
    expectWellFormed(m, u, beam, 1);

    // Without maxLength, the limit follows the audio length (25 characters a second + 10).
    const batch = [utterances[0]!, utterances[8]!, utterances[10]!];
    const hyps = greedyDecode(m, vocab, batch);
    hyps.forEach((h, i) => {
      expect(h.finished).toBe(false);
      expect(h.ids).toHaveLength(defaultMaxLength(batch[i]!.frames));
    });
    const [long] = beamDecode(m, vocab, batch[0]!, beamOptions({ beam: 2, nbest: 1 }));
    expect(long!.ids).toHaveLength(defaultMaxLength(batch[0]!.frames));
    expect(long!.finished).toBe(false);
    m.dispose();
  });
});

describe('greedy decoding', () => {
  it('of a batch equals decoding each utterance alone', () => {
    const batched = greedyDecode(model, vocab, utterances, { keepAlignments: true });
    expect(batched).toHaveLength(utterances.length);
    expect(new Set(batched.map((h) => h.text)).size).toBeGreaterThan(1);
    utterances.forEach((u, i) => {
      const [alone] = greedyDecode(model, vocab, [u], { keepAlignments: true });
      expectSameHypothesis(batched[i]!, alone!, `utterance ${i} (${u.frames} frames)`);
    });
    // And through the library's batch entry point.
    const viaTranscriber = transcriber.decodeBatch(utterances as FeatureMatrix[]);
    expect(viaTranscriber.map((h) => h.text)).toEqual(batched.map((h) => h.text));
  });

  it('keeps one attention distribution per character, over the utterance\'s own frames only', () => {
    const batched = greedyDecode(model, vocab, utterances, { keepAlignments: true });
    batched.forEach((h, i) => {
      expect(h.alignments).toHaveLength(h.ids.length);
      const own = Math.ceil(utterances[i]!.frames / SMALL_MODEL.timeReduction);
      for (const a of h.alignments) {
        let sum = 0;
        let outside = 0;
        a.forEach((w, t) => {
          expect(w).toBeGreaterThanOrEqual(0);
          sum += w;
          if (t >= own) outside += w;
        });
        expect(sum).toBeCloseTo(1, 4);
        expect(outside).toBeLessThan(1e-6);
      }
    });
  });
});

describe('memory', () => {
  it('repeated decoding does not leak tensors', () => {
    const noEnd = withEndBias(4, -1e4);
    const round = (): void => {
      greedyDecode(model, vocab, utterances, { keepAlignments: true });
      greedyDecode(noEnd, vocab, utterances.slice(0, 3), { maxLength: 5 });
      beamDecode(model, vocab, utterances[3]!, beamOptions({ beam: 4, nbest: 4, keepAlignments: true }));
      beamDecode(noEnd, vocab, utterances[4]!, beamOptions({ beam: 3, nbest: 2, maxLength: 6 }));
      transcriber.decode(utterances[5] as FeatureMatrix, { beam: 3 });
      transcriber.decode(utterances[6] as FeatureMatrix);
    };
    round(); // warm-up (kernels, caches)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      round();
      expect(tf.memory().numTensors).toBe(before);
    }
    noEnd.dispose();
  });
});
