/**
 * Beam search over characters for one utterance. The live hypotheses form the decoder's
 * batch; each step keeps the `beam` best extensions, and hypotheses that emit the end
 * symbol are set aside with a length-normalized score (logProb / length^lengthPenalty).
 */
import * as tf from '@tensorflow/tfjs';
import type { Frames } from '../model/batch.js';
import { disposeMemory, disposeState, repeatMemory, selectState } from '../model/decoder.js';
import type { Seq2Seq } from '../model/seq2seq.js';
import { EOS, SOS, type Vocabulary } from '../model/vocab.js';
import { tidyKeep } from '../util/tidy.js';
import { ctcPrefixScorer } from './ctc-prefix.js';
import type { BeamScorer } from './scorers.js';
import { confidenceOf, defaultMaxLength, type DecodeOptions, type Hypothesis } from './hypothesis.js';

interface Partial {
  ids: number[];
  /** Acoustic model log-probability. */
  logProb: number;
  /** Model log-probability plus the extra scorers' scores (what the beam ranks by). */
  fused: number;
  scorerStates: unknown[];
  charLogProbs: number[];
  alignments: Float32Array[];
}

function normalized(logProb: number, symbols: number, lengthPenalty: number): number {
  return logProb / Math.pow(Math.max(1, symbols), lengthPenalty);
}

function toHypothesis(vocab: Vocabulary, p: Partial, finished: boolean, lengthPenalty: number): Hypothesis {
  const symbols = p.ids.length + (finished ? 1 : 0);
  return {
    text: vocab.decode(p.ids),
    ids: p.ids,
    logProb: p.logProb,
    score: normalized(p.fused, symbols, lengthPenalty),
    confidence: confidenceOf(p.logProb, symbols),
    charLogProbs: p.charLogProbs,
    alignments: p.alignments,
    finished,
  };
}

/** `scorers` add to the model's scores (language model, hot words); with `opts.ctcWeight` > 0 and a model with a CTC head, so does the CTC prefix score. */
export function beamDecode(model: Seq2Seq, vocab: Vocabulary, utterance: Frames, opts: DecodeOptions, extraScorers: readonly BeamScorer[] = []): Hypothesis[] {
  const width = Math.max(1, Math.floor(opts.beam));
  const maxLength = opts.maxLength ?? defaultMaxLength(utterance.frames);
  const vocabSize = model.config.vocabSize;
  const useCtc = opts.ctcWeight > 0 && model.config.ctcLayer !== undefined;
  const { mem, ctc } = tidyKeep(() => {
    const enc = model.encode([utterance]);
    const frames = enc.ctcInput?.lengths[0] ?? 0;
    // The CTC head's log-probabilities of the real frames (the batch of one is time-major already).
    const ctcLogProbs = useCtc ? (tf.logSoftmax(model.ctcLogits(enc)).slice([0, 0], [frames, model.config.vocabSize]).dataSync() as Float32Array) : undefined;
    return { mem: repeatMemory(model.memory(enc), width), ctc: ctcLogProbs ? { logProbs: ctcLogProbs, frames } : undefined };
  });
  const scorers = ctc ? [...extraScorers, ctcPrefixScorer(ctc.logProbs, ctc.frames, vocabSize, opts.ctcWeight) as BeamScorer] : extraScorers;
  let state = tidyKeep(() => model.initialState(mem));
  let live: Partial[] = [{ ids: [], logProb: 0, fused: 0, scorerStates: scorers.map((s) => s.initial()), charLogProbs: [], alignments: [] }];
  let inputs = new Array<number>(width).fill(SOS);
  const done: Hypothesis[] = [];

  // As in greedy decoding, a hypothesis that reaches maxLength characters is cut there and
  // stays unfinished (forcing the end symbol would pass it off as finished).
  for (let t = 0; t < maxLength && live.length > 0 && done.length < width; t++) {
    const out = tidyKeep(() => {
      const r = model.step(mem, state, model.oneHot(inputs));
      return { state: r.state, logProbs: tf.logSoftmax(r.logits) };
    });
    disposeState(state);
    const lp = out.logProbs.dataSync() as Float32Array;
    out.logProbs.dispose();
    const att = opts.keepAlignments ? (out.state.alignment.dataSync() as Float32Array) : undefined;

    // All extensions of the live hypotheses, best first.
    const candidates: { parent: number; symbol: number; logProb: number; fused: number; states: unknown[] }[] = [];
    live.forEach((hyp, i) => {
      for (let v = EOS; v < vocabSize; v++) {
        const step = lp[i * vocabSize + v] as number;
        let fused = hyp.fused + step;
        const states = scorers.map((scorer, k) => {
          const r = scorer.extend(hyp.scorerStates[k], v);
          fused += r.score;
          return r.state;
        });
        candidates.push({ parent: i, symbol: v, logProb: hyp.logProb + step, fused, states });
      }
    });
    candidates.sort((a, b) => b.fused - a.fused);

    const next: Partial[] = [];
    const parents: number[] = [];
    for (const c of candidates) {
      if (next.length >= width) break;
      const parent = live[c.parent] as Partial;
      const stepLogProb = c.logProb - parent.logProb;
      if (c.symbol === EOS) {
        done.push(toHypothesis(vocab, { ...parent, logProb: c.logProb, fused: c.fused }, true, opts.lengthPenalty));
        continue;
      }
      next.push({
        ids: [...parent.ids, c.symbol],
        logProb: c.logProb,
        fused: c.fused,
        scorerStates: c.states,
        charLogProbs: [...parent.charLogProbs, stepLogProb],
        alignments: att ? [...parent.alignments, att.slice(c.parent * mem.steps, (c.parent + 1) * mem.steps)] : parent.alignments,
      });
      parents.push(c.parent);
    }
    if (next.length === 0) {
      disposeState(out.state);
      state = out.state;
      live = [];
      break;
    }
    // Rows beyond the live hypotheses repeat the first one; their scores are never read.
    while (parents.length < width) parents.push(parents[0] as number);
    state = tidyKeep(() => selectState(out.state, parents));
    disposeState(out.state);
    inputs = parents.map((_, i) => (next[i] ?? (next[0] as Partial)).ids.at(-1) as number);
    live = next;
  }
  if (live.length > 0) disposeState(state);
  disposeMemory(mem);

  const results = done.length > 0 ? done : live.map((p) => toHypothesis(vocab, p, false, opts.lengthPenalty));
  results.sort((a, b) => b.score - a.score);
  return results.slice(0, Math.max(1, opts.nbest));
}
