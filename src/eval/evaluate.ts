/**
 * Decode a set of utterances and score them: WER/CER with substitutions, deletions and
 * insertions, real-time factor, and per-utterance results. Used by `koe eval` and by
 * the trainer's validation.
 */
import { AudioError, loadAudio } from '../audio/index.js';
import type { Hypothesis } from '../decode/hypothesis.js';
import type { ManifestEntry } from '../io/manifest.js';
import { normalizeTranscript } from '../text/normalize.js';
import type { FeatureMatrix } from '../features/index.js';
import { ErrorAccumulator, errorCount, type ErrorCounts } from '../metrics/wer.js';

export interface EvalItem {
  audioPath: string;
  /** Normalized reference transcript. */
  ref: string;
  /** Normalized features, computed on demand (and timed). Returns the audio duration too. */
  load(): Promise<{ features: FeatureMatrix; duration: number }>;
}

export interface EvalUtterance {
  audioPath: string;
  ref: string;
  hyp: string;
  confidence: number;
  duration: number;
  word: ErrorCounts;
  char: ErrorCounts;
}

export interface EvalReport {
  wer: number;
  cer: number;
  sub: number;
  del: number;
  ins: number;
  words: number;
  utts: number;
  /** Processing seconds (features + decoding) per second of audio. */
  rtf: number;
  /** Seconds of audio scored. */
  audioSeconds: number;
  utterances: EvalUtterance[];
  /** Utterances whose audio could not be read (missing, not a WAV, ...): not scored. */
  skipped: Array<{ audioPath: string; reason: string }>;
}

/** Something that turns 16 kHz samples into the model's normalized features (a Transcriber). */
export interface FeatureSource {
  features(samples16k: Float32Array): FeatureMatrix;
}

/** Evaluation items for manifest entries: normalized references, audio read and featurized on demand. */
export function manifestEvalItems(entries: readonly ManifestEntry[], source: FeatureSource, sampleRate = 16000): EvalItem[] {
  return entries.map((e) => ({
    audioPath: e.audioFilepath,
    ref: normalizeTranscript(e.text),
    load: async () => {
      const samples = await loadAudio(e.audioFilepath, sampleRate);
      return { features: source.features(samples), duration: samples.length / sampleRate };
    },
  }));
}

/** Decodes a group of feature matrices (a batch for greedy decoding, one for beam search). */
export type DecodeMany = (features: FeatureMatrix[]) => Hypothesis[];

export async function evaluate(
  items: readonly EvalItem[],
  decode: DecodeMany,
  opts: { batchSize: number; onProgress?: (done: number, total: number) => void },
): Promise<EvalReport> {
  const acc = new ErrorAccumulator();
  const utterances: EvalUtterance[] = [];
  const skipped: EvalReport['skipped'] = [];
  let processing = 0;
  let audioSeconds = 0;
  for (let start = 0; start < items.length; start += opts.batchSize) {
    const t0 = performance.now();
    const group: EvalItem[] = [];
    const loaded: { features: FeatureMatrix; duration: number }[] = [];
    // A bad audio file is reported and left out; the rest are still scored.
    for (const item of items.slice(start, start + opts.batchSize)) {
      try {
        loaded.push(await item.load());
        group.push(item);
      } catch (err) {
        if (!(err instanceof AudioError)) throw err;
        skipped.push({ audioPath: item.audioPath, reason: err.message });
      }
    }
    const hyps = group.length > 0 ? decode(loaded.map((l) => l.features)) : [];
    processing += (performance.now() - t0) / 1000;
    group.forEach((item, i) => {
      const hyp = hyps[i] as Hypothesis;
      const duration = (loaded[i] as { duration: number }).duration;
      audioSeconds += duration;
      const counts = acc.add(item.ref, hyp.text);
      utterances.push({ audioPath: item.audioPath, ref: item.ref, hyp: hyp.text, confidence: hyp.confidence, duration, ...counts });
    });
    opts.onProgress?.(Math.min(items.length, start + opts.batchSize), items.length);
  }
  return { ...acc.summary(), rtf: audioSeconds > 0 ? processing / audioSeconds : 0, audioSeconds, utterances, skipped };
}

/** The utterances with the most character errors (ties: more word errors first). */
export function worstUtterances(report: EvalReport, n: number): EvalUtterance[] {
  return [...report.utterances]
    .sort((a, b) => errorCount(b.char) - errorCount(a.char) || errorCount(b.word) - errorCount(a.word))
    .filter((u) => errorCount(u.char) > 0)
    .slice(0, n);
}
