/**
 * Word start and end times from the attention alignment: each character's position is
 * the attention-weighted mean encoder step (more stable than the peak), times the
 * encoder's frame duration (10 ms x time reduction).
 *
 * Attention alone runs late where speech begins: the first decoder step starts from uniform
 * attention, and a word after a pause often lands in the pause or well into the speech after
 * it. So the times are then refined with the audio's energy ({@link snapToSpeech}): stretches
 * of speech come from the energy voice-activity detector (src/vad) with no padding and a short
 * hang-over ({@link speechStretches}); the first word of each stretch starts at its energy
 * onset, and no word starts or ends in a pause.
 */
import { DEFAULT_VAD_OPTIONS, detectSegments, energyDb, type VadOptions } from '../vad/index.js';
import type { Hypothesis } from './hypothesis.js';

export interface WordTime {
  word: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  /** exp(mean log-probability of the word's characters). */
  confidence: number;
}

/** A stretch of speech between pauses, in seconds from the start of the audio. */
export interface SpeechStretch {
  start: number;
  end: number;
}

/** Attention-weighted mean position (in encoder steps) of one alignment row. */
function centroid(weights: Float32Array): number {
  let sum = 0;
  let mass = 0;
  for (let t = 0; t < weights.length; t++) {
    sum += t * (weights[t] as number);
    mass += weights[t] as number;
  }
  return mass > 0 ? sum / mass : 0;
}

/**
 * `stepSeconds`: seconds per encoder step (0.01 * timeReduction). The hypothesis must have
 * been decoded with keepAlignments. Word i spans from its first character's position to
 * its last one's, plus one step; times never decrease and stay within `duration`. With
 * `speech` (the audio's {@link speechStretches}) the times are refined by
 * {@link snapToSpeech}; without it they are the attention's alone.
 */
export function wordTimes(h: Hypothesis, stepSeconds: number, duration: number, speech?: readonly SpeechStretch[]): WordTime[] {
  if (h.alignments.length !== h.text.length) throw new Error('word times need a hypothesis decoded with keepAlignments');
  const positions = h.alignments.map((a) => centroid(a) * stepSeconds);
  const words: WordTime[] = [];
  let i = 0;
  let floor = 0;
  while (i < h.text.length) {
    if (h.text[i] === ' ') {
      i++;
      continue;
    }
    let j = i;
    while (j < h.text.length && h.text[j] !== ' ') j++;
    const start = Math.min(duration, Math.max(floor, positions[i] as number));
    const end = Math.min(duration, Math.max(start, (positions[j - 1] as number) + stepSeconds));
    const lp = h.charLogProbs.slice(i, j);
    words.push({ word: h.text.slice(i, j), start, end, confidence: Math.exp(lp.reduce((a, b) => a + b, 0) / Math.max(1, lp.length)) });
    floor = start;
    i = j;
  }
  return speech ? snapToSpeech(words, speech) : words;
}

/**
 * Detector settings for word-level stretches of speech: no pre-roll or padding (a stretch
 * starts at its first loud frame and ends after its last one), pauses of 150 ms or more
 * split stretches, a burst needs 50 ms of loud frames to count, and long speech is never cut.
 */
export const SPEECH_STRETCH_VAD: Readonly<Partial<VadOptions>> = Object.freeze({ paddingMs: 0, hangoverMs: 150, minSpeechMs: 50 });

/**
 * Stretches of speech in `samples`, in order: the energy voice-activity detector
 * ({@link detectSegments}) with {@link SPEECH_STRETCH_VAD} (`options` override it). Its noise
 * floor starts at the 10th percentile of the frame energies rather than at the first frame,
 * so that speech from the very first sample still starts a stretch.
 */
export function speechStretches(samples: Float32Array, sampleRate: number, options: Partial<VadOptions> = {}): SpeechStretch[] {
  const o: Partial<VadOptions> = { ...SPEECH_STRETCH_VAD, ...options, sampleRate };
  const frameMs = o.frameMs ?? DEFAULT_VAD_OPTIONS.frameMs;
  const frame = Math.round((sampleRate * frameMs) / 1000);
  const frames = Math.floor(samples.length / frame);
  if (frames === 0) return [];
  if (o.initialFloorDb === undefined) {
    const energies = new Float64Array(frames);
    for (let f = 0; f < frames; f++) energies[f] = energyDb(samples, f * frame, frame);
    energies.sort();
    o.initialFloorDb = energies[Math.floor(0.1 * (frames - 1))] as number;
  }
  // No cut at a maximum length: longer than the signal (and at least the detector's minimum of 4 frames).
  o.maxUtteranceMs ??= Math.max(4 * frameMs, (samples.length / sampleRate) * 1000 + 1000);
  return detectSegments(samples, o).map((s) => ({ start: s.start / sampleRate, end: s.end / sampleRate }));
}

/**
 * Refine attention-derived word times (in order, starts non-decreasing) with the stretches of
 * speech of the same audio (in order, disjoint). Each word is given a stretch, in order:
 * - the first word of the utterance belongs to the first stretch (the first decoder step's
 *   attention carries no position information);
 * - any other word to the last stretch starting at or before its start (the first if none
 *   does), so one starting in a pause belongs to the stretch before the pause; except that a
 *   word starting in the pause before a stretch that no word starts in opens that stretch
 *   (every stretch of speech should hold a word), unless it is the only word of its own.
 * The first word of each stretch then starts at the stretch's energy onset; any other word
 * keeps its start, moved into its stretch if it lies outside; every word ends within its
 * stretch (never in the following pause) and not before it starts. Starts stay
 * non-decreasing. With no stretches, the words are returned unchanged.
 */
export function snapToSpeech(words: readonly WordTime[], speech: readonly SpeechStretch[]): WordTime[] {
  if (speech.length === 0) return words.slice();
  const stretchOf = (t: number): number => {
    let r = 0;
    while (r + 1 < speech.length && (speech[r + 1] as SpeechStretch).start <= t + 1e-9) r++;
    return r;
  };
  // Stretches that some word's attention-derived start falls in (the first word's does not count).
  const claimed = new Set(words.slice(1).map((w) => stretchOf(w.start)));
  let previous = -1;
  return words.map((w, i) => {
    let r = i === 0 ? 0 : Math.max(previous, stretchOf(w.start));
    if (i > 0 && r === previous && r + 1 < speech.length && w.start >= (speech[r] as SpeechStretch).end && !claimed.has(r + 1)) r++;
    const s = speech[r] as SpeechStretch;
    const start = r > previous ? s.start : Math.min(s.end, Math.max(s.start, w.start));
    previous = r;
    return { ...w, start, end: Math.max(start, Math.min(w.end, s.end)) };
  });
}
