/** Greedy decoding: at each step the most likely character, for a whole batch at once. */
import * as tf from '@tensorflow/tfjs';
import type { Frames } from '../model/batch.js';
import { disposeMemory, disposeState } from '../model/decoder.js';
import { argMaxRow } from '../util/argmax.js';
import { tidyKeep } from '../util/tidy.js';
import type { Seq2Seq } from '../model/seq2seq.js';
import { EOS, SOS, type Vocabulary } from '../model/vocab.js';
import { confidenceOf, defaultMaxLength, type Hypothesis } from './hypothesis.js';

export function greedyDecode(
  model: Seq2Seq,
  vocab: Vocabulary,
  utterances: readonly Frames[],
  opts: { maxLength?: number; keepAlignments?: boolean } = {},
): Hypothesis[] {
  const batch = utterances.length;
  const limits = utterances.map((u) => opts.maxLength ?? defaultMaxLength(u.frames));
  const ids: number[][] = utterances.map(() => []);
  const charLogProbs: number[][] = utterances.map(() => []);
  const alignments: Float32Array[][] = utterances.map(() => []);
  const logProb = new Array<number>(batch).fill(0);
  const done = new Array<boolean>(batch).fill(false);
  const finished = new Array<boolean>(batch).fill(false);

  const mem = tidyKeep(() => model.memory(model.encode(utterances)));
  let state = tidyKeep(() => model.initialState(mem));
  let previous = new Array<number>(batch).fill(SOS);
  const steps = mem.steps;
  for (let t = 0; t < Math.max(...limits) && !done.every(Boolean); t++) {
    const out = tidyKeep(() => {
      const r = model.step(mem, state, model.oneHot(previous));
      return { state: r.state, logProbs: tf.logSoftmax(r.logits) };
    });
    disposeState(state);
    state = out.state;
    const lp = out.logProbs.dataSync() as Float32Array;
    const att = opts.keepAlignments ? (state.alignment.dataSync() as Float32Array) : undefined;
    out.logProbs.dispose();
    const vocabSize = model.config.vocabSize;
    previous = previous.map((_, b) => {
      if (done[b]) return EOS;
      const best = argMaxRow(lp, b, vocabSize);
      const p = lp[b * vocabSize + best] as number;
      logProb[b] = (logProb[b] as number) + p;
      if (best === EOS) {
        done[b] = true;
        finished[b] = true;
      } else {
        (ids[b] as number[]).push(best);
        (charLogProbs[b] as number[]).push(p);
        if (att) (alignments[b] as Float32Array[]).push(att.slice(b * steps, (b + 1) * steps));
        if ((ids[b] as number[]).length >= (limits[b] as number)) done[b] = true;
      }
      return best;
    });
  }
  disposeState(state);
  disposeMemory(mem);
  return utterances.map((_, b) => {
    const symbols = (ids[b] as number[]).length + (finished[b] ? 1 : 0);
    const lp = logProb[b] as number;
    return {
      text: vocab.decode(ids[b] as number[]),
      ids: ids[b] as number[],
      logProb: lp,
      score: lp,
      confidence: confidenceOf(lp, symbols),
      charLogProbs: charLogProbs[b] as number[],
      alignments: alignments[b] as Float32Array[],
      finished: finished[b] as boolean,
    };
  });
}
