/**
 * The voice-activity detector on synthetic signals with known boundaries: tone bursts in
 * seeded white noise, at 16 kHz.
 */
import { describe, expect, it } from 'vitest';
import { makeRng } from '../src/util/rng.js';
import { detectSegments, energyDb, resolveVadOptions, VoiceActivityDetector, type VadEvent, type VadOptions, type VadSegment } from '../src/vad/index.js';

const SR = 16000;
const sec = (s: number): number => Math.round(s * SR);

interface Burst {
  from: number;
  to: number;
  /** RMS level in dBFS, or a function of time for level envelopes. */
  db: number | ((t: number) => number);
}

/**
 * White noise whose RMS level (dBFS) may vary with time, plus 220 Hz tones ("speech")
 * at the given RMS levels.
 */
function synth(duration: number, noiseDb: number | ((t: number) => number), bursts: Burst[] = [], seed = 1): Float32Array {
  const rng = makeRng(seed);
  const n = sec(duration);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const nd = typeof noiseDb === 'number' ? noiseDb : noiseDb(t);
    let x = (2 * rng() - 1) * Math.sqrt(3) * 10 ** (nd / 20);
    for (const b of bursts) {
      if (t >= b.from && t < b.to) {
        const db = typeof b.db === 'number' ? b.db : b.db(t);
        x += Math.SQRT2 * 10 ** (db / 20) * Math.sin(2 * Math.PI * 220 * t);
      }
    }
    out[i] = x;
  }
  return out;
}

const near = (actual: number, expected: number, tolSeconds: number): void => {
  expect(Math.abs(actual - expected) / SR, `${(actual / SR).toFixed(3)} s vs ${expected / SR} s`).toBeLessThanOrEqual(tolSeconds);
};

const fmt = (segs: VadSegment[]): string => segs.map((s) => `${(s.start / SR).toFixed(2)}-${(s.end / SR).toFixed(2)} ${s.reason}`).join(', ');

describe('energyDb', () => {
  it('measures RMS level in dBFS', () => {
    const tone = synth(1, -200, [{ from: 0, to: 1, db: -20 }]);
    expect(energyDb(tone)).toBeCloseTo(-20, 1);
    expect(energyDb(new Float32Array(160))).toBe(-100);
  });
});

describe('VoiceActivityDetector', () => {
  it('finds tone bursts in noise with the padding around them', () => {
    const x = synth(5, -60, [
      { from: 1, to: 2, db: -20 },
      { from: 3, to: 3.8, db: -25 },
    ]);
    const segs = detectSegments(x);
    expect(segs, fmt(segs)).toHaveLength(2);
    const [a, b] = segs as [VadSegment, VadSegment];
    // Default padding 200 ms on both sides; frames are 10 ms.
    near(a.start, sec(0.8), 0.011);
    near(a.end, sec(2.2), 0.011);
    near(b.start, sec(2.8), 0.011);
    near(b.end, sec(4.0), 0.011);
    expect(a.reason).toBe('silence');
    expect(b.reason).toBe('silence');
  });

  it('ignores clicks shorter than the minimum speech and finds quiet speech in digital silence', () => {
    const x = synth(3, -200, [
      { from: 0.5, to: 0.55, db: -10 }, // 50 ms click
      { from: 1.5, to: 2.0, db: -50 }, // quiet but well above the -70 dBFS minimum floor
    ]);
    const segs = detectSegments(x);
    expect(segs, fmt(segs)).toHaveLength(1);
    near((segs[0] as VadSegment).start, sec(1.3), 0.011);
    // No padding before the first sample is possible: starts are clamped at 0.
    const early = detectSegments(synth(1, -200, [{ from: 0.05, to: 0.5, db: -20 }]));
    expect(early[0]?.start).toBe(0);
  });

  it('hang-over: pauses shorter than it do not split an utterance, longer ones do', () => {
    const short = detectSegments(synth(4, -60, [
      { from: 1, to: 1.6, db: -20 },
      { from: 2.0, to: 2.6, db: -20 }, // 400 ms pause < 600 ms hang-over
    ]));
    expect(short, fmt(short)).toHaveLength(1);
    near((short[0] as VadSegment).end, sec(2.8), 0.011);

    const long = detectSegments(synth(4, -60, [
      { from: 1, to: 1.6, db: -20 },
      { from: 2.4, to: 3.0, db: -20 }, // 800 ms pause
    ]));
    expect(long, fmt(long)).toHaveLength(2);

    // With a 1 s hang-over the 800 ms pause no longer splits.
    const longer = detectSegments(synth(4, -60, [
      { from: 1, to: 1.6, db: -20 },
      { from: 2.4, to: 3.0, db: -20 },
    ]), { hangoverMs: 1000 });
    expect(longer, fmt(longer)).toHaveLength(1);
  });

  it('streaming: the end is reported one hang-over after the speech stops, the start after the minimum speech', () => {
    const x = synth(3, -60, [{ from: 1, to: 1.5, db: -20 }]);
    const vad = new VoiceActivityDetector();
    const seen: { event: VadEvent; at: number }[] = [];
    for (let i = 0; i < x.length; i += 160) {
      for (const event of vad.push(x.subarray(i, i + 160))) seen.push({ event, at: vad.position });
    }
    expect(seen.map((s) => s.event.type)).toEqual(['start', 'end']);
    near(seen[0]!.at, sec(1.1), 0.011); // 100 ms of speech confirms the start
    near(seen[1]!.at, sec(2.1), 0.011); // 600 ms of silence ends it
    expect(vad.inSpeech).toBe(false);
  });

  it('gives the same segments however the samples are chunked', () => {
    const x = synth(6, (t) => -60 + 3 * t, [
      { from: 1, to: 2, db: -20 },
      { from: 2.3, to: 2.9, db: -22 },
      { from: 4, to: 5.5, db: -18 },
    ]);
    const whole = detectSegments(x, { maxUtteranceMs: 1500 });
    const rng = makeRng(3);
    const vad = new VoiceActivityDetector({ maxUtteranceMs: 1500 });
    const events: VadEvent[] = [];
    for (let i = 0; i < x.length; ) {
      const n = 1 + Math.floor(rng() * 700);
      events.push(...vad.push(x.subarray(i, i + n)));
      i += n;
    }
    events.push(...vad.flush());
    const streamed = events.filter((e) => e.type === 'end').map((e) => ({ start: e.start, end: (e as { end: number }).end, reason: (e as { reason: string }).reason }));
    expect(streamed).toEqual(whole);
    expect(whole.length).toBeGreaterThanOrEqual(3);
  });

  it('cuts an utterance at the maximum length at its quietest point in the second half', () => {
    // 5 s of continuous "speech" with dips: 0.9-1.0 s (deepest, but in the first half),
    // 2.15-2.25 s (-12 dB) and 2.55-2.65 s (-18 dB, the quietest of the second half).
    const level = (t: number): number => {
      if (t >= 0.9 && t < 1.0) return -45;
      if (t >= 2.15 && t < 2.25) return -32;
      if (t >= 2.55 && t < 2.65) return -38;
      return -20;
    };
    const x = synth(6, -60, [{ from: 0.5, to: 5.5, db: level }]);
    const segs = detectSegments(x, { maxUtteranceMs: 3000, hangoverMs: 600 });
    expect(segs.length, fmt(segs)).toBeGreaterThanOrEqual(2);
    const [first, second] = segs as [VadSegment, VadSegment];
    expect(first.reason).toBe('max-length');
    near(first.start, sec(0.3), 0.011);
    near(first.end, sec(2.6), 0.021); // the middle of the quietest dip
    expect(second.start).toBe(first.end); // continues without a gap
    expect(second.end - second.start).toBeLessThanOrEqual(sec(3));
    // The last cut falls in the pause after the speech: no utterance of silence alone follows.
    const last = segs[segs.length - 1]!;
    expect(last.end).toBeGreaterThanOrEqual(sec(5.5));
    expect(last.end).toBeLessThanOrEqual(sec(5.7));
    for (const s of segs) {
      expect(s.end - s.start).toBeLessThanOrEqual(sec(3));
      expect(s.start).toBeLessThan(sec(5.5));
    }
  });

  it('adapts its noise floor to noise that keeps rising, where a fixed floor fails', () => {
    // Noise rises 30 dB over 12 s (2.5 dB/s); bursts 20 dB above the noise at that moment.
    const noise = (t: number): number => -65 + 2.5 * t;
    const bursts = [2, 5, 8, 11].map((from) => ({ from, to: from + 0.5, db: (t: number) => noise(t) + 20 }));
    const x = synth(13, noise, bursts, 9);
    const segs = detectSegments(x);
    expect(segs, fmt(segs)).toHaveLength(4);
    segs.forEach((s, i) => {
      const b = bursts[i]!;
      near(s.start, sec(b.from - 0.2), 0.03);
      near(s.end, sec(b.to + 0.2), 0.03);
    });
    // The same detector with a floor that cannot rise takes the louder noise for speech.
    const fixed = detectSegments(x, { floorRiseDbPerSec: 0 });
    expect(fixed.length === 4 && fixed.every((s, i) => Math.abs(s.start - segs[i]!.start) < sec(0.05)), fmt(fixed)).toBe(false);
  });

  it('recovers from a sudden lasting rise in noise within a few seconds', () => {
    const noise = (t: number): number => (t < 2 ? -60 : -40);
    const x = synth(16, noise, [{ from: 13, to: 13.6, db: -20 }], 5);
    const segs = detectSegments(x);
    // At most one spurious segment at the step, ended once the floor has caught up...
    const spurious = segs.filter((s) => s.end <= sec(12));
    expect(spurious.length, fmt(segs)).toBeLessThanOrEqual(1);
    if (spurious[0]) expect(spurious[0].end).toBeLessThan(sec(9));
    // ...and then the burst is found at its place.
    const last = segs[segs.length - 1]!;
    near(last.start, sec(12.8), 0.03);
    near(last.end, sec(13.8), 0.03);
  });

  it('flush ends the utterance in progress', () => {
    const x = synth(2, -60, [{ from: 1, to: 2, db: -20 }]);
    const vad = new VoiceActivityDetector();
    expect(vad.push(x).map((e) => e.type)).toEqual(['start']);
    expect(vad.inSpeech).toBe(true);
    expect(vad.utteranceStart).toBe(sec(0.8));
    const [end] = vad.flush();
    expect(end).toEqual({ type: 'end', start: sec(0.8), end: sec(2), reason: 'flush' });
    expect(vad.flush()).toEqual([]);
  });

  it('retainFrom never passes a sample a later event refers to', () => {
    const x = synth(6, -55, [
      { from: 1, to: 2, db: -20 },
      { from: 3, to: 4.5, db: -20 },
    ]);
    const vad = new VoiceActivityDetector({ maxUtteranceMs: 1000 });
    let retain = 0;
    for (let i = 0; i < x.length; i += 320) {
      for (const e of vad.push(x.subarray(i, i + 320))) expect(e.start).toBeGreaterThanOrEqual(retain);
      expect(vad.retainFrom).toBeGreaterThanOrEqual(retain);
      retain = vad.retainFrom;
    }
  });

  it('validates its options', () => {
    expect(() => resolveVadOptions({ startDb: 5, endDb: 8 })).toThrow(/end threshold/);
    expect(() => resolveVadOptions({ hangoverMs: -1 })).toThrow(/hangoverMs/);
    expect(() => resolveVadOptions({ maxUtteranceMs: 0 })).toThrow(/maxUtteranceMs/);
    const o: VadOptions = resolveVadOptions({ startDb: undefined });
    expect(o.startDb).toBe(12);
  });
});
