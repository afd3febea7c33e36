/**
 * CTC prefix scoring in beam search: the scores a hypothesis collects along its characters and
 * end symbol must add up to weight x log p_ctc(text) (the CTC loss computed independently), and
 * joint beam search must rank by attention log-probability plus that.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { beamDecode } from '../src/decode/beam.js';
import { ctcPrefixScorer, type CtcPrefixState } from '../src/decode/ctc-prefix.js';
import { DEFAULT_DECODE_OPTIONS } from '../src/decode/hypothesis.js';
import { DEFAULT_MODEL_CONFIG } from '../src/model/config.js';
import { CTC_BLANK, ctcLoss } from '../src/model/ctc.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { EOS, Vocabulary } from '../src/model/vocab.js';
import { makeRng } from '../src/util/rng.js';
import { randomFrames } from './helpers/random-frames.js';

/** Log-softmax rows of random scores, [frames, vocab]. */
function randomLogProbs(frames: number, vocab: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  const out = new Float32Array(frames * vocab);
  for (let t = 0; t < frames; t++) {
    const row = Array.from({ length: vocab }, () => 4 * (rng() - 0.5));
    const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    row.forEach((v, k) => (out[t * vocab + k] = v - z));
  }
  return out;
}

/** Sum of the scorer's scores along `ids` and the end symbol, and the prefix scores on the way. */
function scoreAlong(logProbs: Float32Array, frames: number, vocab: number, ids: number[], weight: number): { total: number; prefixScores: number[] } {
  const scorer = ctcPrefixScorer(logProbs, frames, vocab, weight);
  let state: CtcPrefixState = scorer.initial();
  let total = 0;
  const prefixScores: number[] = [];
  for (const id of [...ids, EOS]) {
    const r = scorer.extend(state, id);
    total += r.score;
    state = r.state;
    prefixScores.push(state.prefixScore);
  }
  return { total, prefixScores };
}

describe('CTC prefix scorer', () => {
  const vocab = 7;
  const frames = 9;
  const logProbs = randomLogProbs(frames, vocab, 3);

  for (const ids of [[3, 4, 5], [3, 3, 4], [6], [], [4, 5, 4, 5]]) {
    it(`adds up to weight x log p_ctc for [${ids.join(', ')}]`, () => {
      // ctcLoss takes logits; log-probabilities are logits whose softmax is themselves.
      const expected = -(ctcLoss({ logits: logProbs, steps: frames, batch: 1, vocab, lengths: [frames], targets: [ids] }).nll[0] as number);
      const { total, prefixScores } = scoreAlong(logProbs, frames, vocab, ids, 0.4);
      expect(total).toBeCloseTo(0.4 * expected, 5);
      // A longer prefix can only be less likely.
      for (let i = 1; i < ids.length; i++) expect(prefixScores[i] as number).toBeLessThanOrEqual((prefixScores[i - 1] as number) + 1e-9);
    });
  }

  it('gives -Infinity to a text that cannot fit in the frames', () => {
    const { total } = scoreAlong(randomLogProbs(2, vocab, 1), 2, vocab, [3, 3], 1);
    expect(total).toBe(-Infinity);
  });
});

describe('joint CTC-attention beam search', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('scores every hypothesis as attention log-probability plus weight x log p_ctc', () => {
    const cfg = { ...DEFAULT_MODEL_CONFIG, inputDim: 6, encoderLayers: 2, encoderUnits: 8, timeReduction: 4, attentionDim: 8, locationKernel: 3, decoderUnits: 8, outputDim: 8, vocabSize: new Vocabulary().size, ctcLayer: 0 };
    const model = Seq2Seq.create(cfg, 5);
    // Bias the end symbol and the CTC blank up so that hypotheses end within a few characters.
    for (const [name, symbol] of [['out.b2', EOS], ['ctc.b', CTC_BLANK]] as const) {
      const b = model.params.get(name);
      const bias = Array.from(b.dataSync());
      bias[symbol] = 3;
      b.assign(tf.tensor1d(bias));
    }
    const [utterance] = randomFrames([40], cfg.inputDim, 8);
    const weight = 0.5;
    const hyps = beamDecode(model, new Vocabulary(), utterance!, { ...DEFAULT_DECODE_OPTIONS, beam: 4, nbest: 4, lengthPenalty: 0, ctcWeight: weight, maxLength: 12 });
    const enc = model.encode([utterance!]);
    const frames = enc.ctcInput!.lengths[0] as number;
    const ctcLogits = model.ctcLogits(enc).slice([0, 0], [frames, cfg.vocabSize]).dataSync() as Float32Array;
    expect(hyps.filter((x) => x.finished).length).toBeGreaterThan(1);
    for (const h of hyps.filter((x) => x.finished)) {
      const logCtc = -(ctcLoss({ logits: ctcLogits, steps: frames, batch: 1, vocab: cfg.vocabSize, lengths: [frames], targets: [h.ids] }).nll[0] as number);
      expect(h.score).toBeCloseTo(h.logProb + weight * logCtc, 4);
    }
    // Without the CTC weight the scores are the attention's alone.
    const plain = beamDecode(model, new Vocabulary(), utterance!, { ...DEFAULT_DECODE_OPTIONS, beam: 4, nbest: 4, lengthPenalty: 0, ctcWeight: 0, maxLength: 12 });
    for (const h of plain) expect(h.score).toBeCloseTo(h.logProb, 5);
    model.dispose();
  });
});
