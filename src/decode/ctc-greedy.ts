/**
 * Best-path decoding of the CTC head: the most likely symbol per frame, repeats merged,
 * blanks dropped. The attention decoder is the model's real output; this reads what the
 * encoder alone has learned (a training diagnostic, and a decoder that cannot loop or stop early).
 */
import * as tf from '@tensorflow/tfjs';
import type { Frames } from '../model/batch.js';
import { CTC_BLANK } from '../model/ctc.js';
import type { Seq2Seq } from '../model/seq2seq.js';
import type { Vocabulary } from '../model/vocab.js';
import { argMaxRow } from '../util/argmax.js';
import { confidenceOf, type Hypothesis } from './hypothesis.js';

/**
 * Best path of time-major log-probabilities (row t*batch + b): per utterance, the symbol ids
 * after merging repeats and dropping blanks, and the log-probability of the path.
 */
export function bestPath(logProbs: Float32Array, batch: number, vocab: number, lengths: readonly number[], blank = CTC_BLANK): Array<{ ids: number[]; charLogProbs: number[]; logProb: number }> {
  return lengths.map((frames, b) => {
    const ids: number[] = [];
    const charLogProbs: number[] = [];
    let logProb = 0;
    let previous = blank;
    for (let t = 0; t < frames; t++) {
      const row = (t * batch + b) * vocab;
      const best = argMaxRow(logProbs, t * batch + b, vocab);
      const p = logProbs[row + best] as number;
      logProb += p;
      if (best !== blank && best !== previous) {
        ids.push(best);
        charLogProbs.push(p);
      }
      previous = best;
    }
    return { ids, charLogProbs, logProb };
  });
}

export function ctcGreedyDecode(model: Seq2Seq, vocab: Vocabulary, utterances: readonly Frames[]): Hypothesis[] {
  const { logProbs, lengths } = tf.tidy(() => {
    const enc = model.encode(utterances);
    return { logProbs: tf.logSoftmax(model.ctcLogits(enc)).dataSync() as Float32Array, lengths: model.ctcInput(enc).lengths };
  });
  return bestPath(logProbs, utterances.length, model.config.vocabSize, lengths).map((p, b) => ({
    text: vocab.decode(p.ids),
    ids: p.ids,
    logProb: p.logProb,
    score: p.logProb,
    confidence: confidenceOf(p.logProb, lengths[b] as number),
    charLogProbs: p.charLogProbs,
    alignments: [],
    finished: true,
  }));
}
