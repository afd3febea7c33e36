/**
 * Audio of any length: split at pauses with the voice-activity detector (the same one as
 * `koe listen`), then transcribe piece by piece, so memory stays bounded by the longest
 * piece and the attention never has to span minutes.
 */
import type { DecodeOptions } from './decode/hypothesis.js';
import type { WordTime } from './decode/word-times.js';
import type { Transcriber } from './transcriber.js';
import { detectSegments, type VadOptions } from './vad/index.js';

export interface Segment {
  /** Seconds from the start of the file. */
  start: number;
  end: number;
  text: string;
  confidence: number;
  /** Word times, in seconds from the start of the file. */
  words: WordTime[];
}

export interface LongTranscription {
  text: string;
  duration: number;
  rtf: number;
  segments: Segment[];
}

export interface LongOptions extends Partial<DecodeOptions> {
  /** Longest piece in seconds; longer speech is cut at its quietest point. */
  maxSegmentSeconds?: number;
  vad?: Partial<VadOptions>;
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
}

export const DEFAULT_MAX_SEGMENT_SECONDS = 15;

export async function transcribeLong(t: Transcriber, samples: Float32Array, sampleRate: number, opts: LongOptions = {}): Promise<LongTranscription> {
  const started = performance.now();
  const duration = samples.length / sampleRate;
  const pieces = detectSegments(samples, {
    sampleRate,
    maxUtteranceMs: (opts.maxSegmentSeconds ?? DEFAULT_MAX_SEGMENT_SECONDS) * 1000,
    ...opts.vad,
  });
  const segments: Segment[] = [];
  for (const p of pieces) {
    const offset = p.start / sampleRate;
    const r = await t.transcribe(samples.subarray(p.start, p.end), opts);
    opts.onProgress?.(p.end / sampleRate, duration);
    if (!r.text.trim()) continue;
    segments.push({
      start: offset,
      end: p.end / sampleRate,
      text: r.text,
      confidence: r.confidence,
      words: r.words.map((w) => ({ ...w, start: w.start + offset, end: w.end + offset })),
    });
  }
  const elapsed = (performance.now() - started) / 1000;
  return { text: segments.map((s) => s.text).join(' '), duration, rtf: duration > 0 ? elapsed / duration : 0, segments };
}
