/**
 * Refining attention-derived word times with the audio's energy (src/decode/word-times.ts:
 * speechStretches, snapToSpeech) on synthetic signals with known boundaries: 220 Hz tone
 * bursts ("speech") in seeded white noise, at 16 kHz. The attention estimates are made up,
 * off by known amounts; the refined times must land on the bursts.
 */
import { describe, expect, it } from 'vitest';
import type { Hypothesis } from '../src/decode/hypothesis.js';
import { snapToSpeech, speechStretches, wordTimes, type SpeechStretch, type WordTime } from '../src/decode/word-times.js';
import { makeRng } from '../src/util/rng.js';

const SR = 16000;
/** One 10 ms analysis frame, in seconds. */
const FRAME = 0.01;

/** White noise at `noiseDb` dBFS RMS plus 220 Hz tones at `db` dBFS RMS over [from, to) seconds. */
function synth(duration: number, noiseDb: number, bursts: { from: number; to: number; db: number }[], seed = 1): Float32Array {
  const rng = makeRng(seed);
  const out = new Float32Array(Math.round(duration * SR));
  for (let i = 0; i < out.length; i++) {
    const t = i / SR;
    let x = (2 * rng() - 1) * Math.sqrt(3) * 10 ** (noiseDb / 20);
    for (const b of bursts) if (t >= b.from && t < b.to) x += Math.SQRT2 * 10 ** (b.db / 20) * Math.sin(2 * Math.PI * 220 * t);
    out[i] = x;
  }
  return out;
}

const word = (w: string, start: number, end: number): WordTime => ({ word: w, start, end, confidence: 1 });
const fmt = (s: SpeechStretch[]): string => s.map((x) => `${x.start.toFixed(3)}-${x.end.toFixed(3)}`).join(', ');

describe('speechStretches', () => {
  it('finds tone bursts in noise to within a frame, with no padding', () => {
    const x = synth(2, -60, [
      { from: 0.5123, to: 0.9, db: -25 },
      { from: 1.3, to: 1.7, db: -30 },
    ]);
    const s = speechStretches(x, SR);
    expect(s.length, fmt(s)).toBe(2);
    expect(Math.abs(s[0]!.start - 0.5123), fmt(s)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(s[0]!.end - 0.9), fmt(s)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(s[1]!.start - 1.3), fmt(s)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(s[1]!.end - 1.7), fmt(s)).toBeLessThanOrEqual(FRAME);
  });

  it('starts a stretch at the first sample when the audio starts with speech', () => {
    const s = speechStretches(synth(1.5, -60, [{ from: 0, to: 0.6, db: -20 }]), SR);
    expect(s.length, fmt(s)).toBe(1);
    expect(s[0]!.start).toBe(0);
    expect(Math.abs(s[0]!.end - 0.6), fmt(s)).toBeLessThanOrEqual(FRAME);
  });

  it('joins pauses under 150 ms, and finds nothing in silence', () => {
    const s = speechStretches(synth(1.5, -60, [{ from: 0.3, to: 0.6, db: -20 }, { from: 0.68, to: 1, db: -20 }]), SR);
    expect(s.length, fmt(s)).toBe(1);
    expect(speechStretches(new Float32Array(SR), SR)).toEqual([]);
    expect(speechStretches(new Float32Array(10), SR)).toEqual([]);
  });
});

describe('snapToSpeech', () => {
  it('moves a late first word to the burst onset and cuts its end at the burst end', () => {
    // 0.7 s of silence (noise), a tone burst from 0.7123 s to 1.2 s, then silence; the
    // attention puts the word 350 ms late and lets it run 250 ms into the pause.
    const onset = 0.7123;
    const x = synth(1.8, -65, [{ from: onset, to: 1.2, db: -25 }]);
    const [w] = snapToSpeech([word('hello', onset + 0.35, 1.45)], speechStretches(x, SR));
    expect(Math.abs(w!.start - onset)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(w!.end - 1.2)).toBeLessThanOrEqual(FRAME);
    expect(w!.word).toBe('hello');
    expect(w!.confidence).toBe(1);
  });

  it('goes through wordTimes when the stretches are given', () => {
    // Attention (4 encoder steps of 40 ms) on step 25 (1.0 s) for "h" and "i": 0.3 s after the onset.
    const onset = 0.7;
    const x = synth(1.6, -65, [{ from: onset, to: 1.1, db: -25 }]);
    const row = (step: number): Float32Array => Float32Array.from({ length: 40 }, (_, t) => (t === step ? 1 : 0));
    const h: Hypothesis = { text: 'hi', ids: [8, 9], logProb: -1, score: -1, confidence: 0.5, charLogProbs: [-0.1, -0.1], alignments: [row(25), row(26)], finished: true };
    const raw = wordTimes(h, 0.04, 1.6);
    expect(raw[0]!.start).toBeCloseTo(1.0, 6);
    const snapped = wordTimes(h, 0.04, 1.6, speechStretches(x, SR));
    expect(Math.abs(snapped[0]!.start - onset)).toBeLessThanOrEqual(FRAME);
    expect(snapped[0]!.end).toBeCloseTo(raw[0]!.end, 6);
  });

  const speech: SpeechStretch[] = [
    { start: 0.2, end: 1.0 },
    { start: 1.5, end: 2.2 },
  ];

  it('gives each stretch its first word at the onset; other words keep their start, moved out of pauses', () => {
    const out = snapToSpeech([word('a', 0.6, 0.7), word('b', 0.8, 1.3), word('c', 1.2, 1.25), word('d', 1.8, 1.9), word('e', 2.0, 2.5)], speech);
    expect(out.map((w) => [w.word, w.start, w.end])).toEqual([
      ['a', 0.2, 0.7], // the first word: the first onset
      ['b', 0.8, 1.0], // kept; its end cut at the pause
      ['c', 1.0, 1.0], // in the pause, and stretch 2 has its own word: back into stretch 1
      ['d', 1.5, 1.9], // the first word starting in stretch 2: its onset
      ['e', 2.0, 2.2],
    ]);
  });

  it('lets a word in a pause open the next stretch when no word starts in it', () => {
    const out = snapToSpeech([word('a', 0.6, 0.7), word('b', 0.8, 0.9), word('c', 1.2, 1.3), word('d', 1.3, 1.4)], speech);
    expect(out.map((w) => [w.word, w.start])).toEqual([
      ['a', 0.2],
      ['b', 0.8],
      ['c', 1.5],
      ['d', 1.5],
    ]);
    // ...but not when it is the only word of its own stretch (here b, of stretch 2).
    const three = [...speech, { start: 2.6, end: 3.0 }];
    const only = snapToSpeech([word('a', 0.5, 0.6), word('b', 2.3, 2.4)], three);
    expect(only.map((w) => [w.word, w.start, w.end])).toEqual([
      ['a', 0.2, 0.6],
      ['b', 1.5, 2.2],
    ]);
  });

  it('keeps starts non-decreasing and ends not before starts; no stretches: unchanged', () => {
    const words = [word('a', 1.9, 2.0), word('b', 1.9, 1.9), word('c', 2.1, 2.4), word('d', 2.4, 2.4)];
    const out = snapToSpeech(words, speech);
    for (let i = 0; i < out.length; i++) {
      expect(out[i]!.end).toBeGreaterThanOrEqual(out[i]!.start);
      if (i > 0) expect(out[i]!.start).toBeGreaterThanOrEqual(out[i - 1]!.start);
    }
    expect(snapToSpeech(words, [])).toEqual(words);
  });
});
