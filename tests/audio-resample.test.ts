import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, mixToMono, resample, toMono16k } from '../src/audio/index.js';
import { makeRng } from '../src/util/rng.js';

function sine(freq: number, rate: number, n: number, amp = 1, phase = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return x;
}

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / (to - from));
}

function maxError(a: Float32Array, b: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const db = (ratio: number): number => 20 * Math.log10(ratio);

/** Gain in dB of a pure tone through resample, measured away from the ends. */
function toneGainDb(freq: number, from: number, to: number, seconds = 0.5): number {
  const x = sine(freq, from, Math.round(from * seconds));
  const y = resample(x, from, to);
  const edgeIn = Math.round(from * 0.02);
  const edgeOut = Math.round(to * 0.02);
  return db(rms(y, edgeOut, y.length - edgeOut) / rms(x, edgeIn, x.length - edgeIn));
}

describe('resample: basics', () => {
  it('returns a copy when the rates are equal', () => {
    const x = Float32Array.from([1, 2, 3]);
    const y = resample(x, 16000, 16000);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual([1, 2, 3]);
  });

  it('output length is round(n * to / from)', () => {
    const pairs: [number, number][] = [
      [8000, 16000],
      [11025, 16000],
      [22050, 16000],
      [44100, 16000],
      [48000, 16000],
      [96000, 16000],
      [16000, 8000],
      [16000, 22050],
      [16000, 44100],
      [16000, 48000],
      [44100, 16001],
      [44100, 16000.5],
    ];
    for (const [from, to] of pairs) {
      for (const n of [0, 1, 2, 3, 7, 100, 1001, 44101]) {
        expect(resample(new Float32Array(n), from, to).length, `${from}->${to}, n=${n}`).toBe(Math.round((n * to) / from));
      }
    }
  });

  it('passes DC at unit gain and keeps time alignment (sample 0 on sample 0)', () => {
    const y = resample(new Float32Array(4410).fill(0.5), 44100, 16000);
    expect(maxError(y, new Float32Array(y.length).fill(0.5), 100, y.length - 100)).toBeLessThan(1e-6);
    // A slow ramp lands where it should: output k is input time k * from / to.
    const ramp = Float32Array.from({ length: 4800 }, (_, i) => i / 4800);
    const r = resample(ramp, 48000, 16000);
    for (const k of [200, 500, 1000, 1400]) expect(r[k]).toBeCloseTo((k * 3) / 4800, 5);
  });

  it('rejects non-positive or non-finite rates', () => {
    const x = new Float32Array(10);
    expect(() => resample(x, 0, 16000)).toThrow(RangeError);
    expect(() => resample(x, 16000, -1)).toThrow(RangeError);
    expect(() => resample(x, Number.NaN, 16000)).toThrow(RangeError);
    expect(() => resample(x, 16000, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('resample: frequency response', () => {
  const downs: [number, number][] = [
    [48000, 16000],
    [44100, 16000],
    [96000, 16000],
    [22050, 16000],
    [44100, 16001], // integer rates with a huge reduced ratio: the general path
    [44100, 16000.5], // non-integer ratio: the general path
  ];

  it('keeps a 1 kHz tone within 0.1 dB, sample for sample', () => {
    for (const [from, to] of [...downs, [8000, 16000] as [number, number], [16000, 48000] as [number, number], [16000, 44100] as [number, number]]) {
      expect(Math.abs(toneGainDb(1000, from, to)), `${from}->${to}`).toBeLessThan(0.1);
      const x = sine(1000, from, Math.round(from * 0.2), 0.8, 0.3);
      const y = resample(x, from, to);
      const ideal = sine(1000, to, y.length, 0.8, 0.3);
      // -60 dB relative to the tone: no delay, no distortion, no images.
      expect(maxError(y, ideal, 320, y.length - 320), `${from}->${to}`).toBeLessThan(0.8e-3);
    }
  });

  it('keeps the passband flat up to 0.9 x the lower Nyquist', () => {
    for (const f of [100, 3000, 6000, 7000, 7200]) {
      expect(Math.abs(toneGainDb(f, 48000, 16000)), `${f} Hz`).toBeLessThan(0.01);
      expect(Math.abs(toneGainDb(f, 44100, 16000)), `${f} Hz`).toBeLessThan(0.01);
    }
  });

  it('attenuates 10 kHz by >= 50 dB going 48k -> 16k, and everything above 8.1 kHz by >= 60 dB', () => {
    expect(toneGainDb(10000, 48000, 16000)).toBeLessThan(-50);
    for (const [from, to] of downs) {
      const nyquist = Math.min(from, to) / 2;
      for (const f of [nyquist + 100, nyquist + 500, 10000, 12000, 15000, 19000].filter((f) => f < from / 2)) {
        expect(toneGainDb(f, from, to, 0.25), `${f} Hz, ${from}->${to}`).toBeLessThan(-60);
      }
    }
  });

  it('removes band noise between 8.1 and 10 kHz (above the new Nyquist) going 48k -> 16k', () => {
    // Band-limited noise: a sum of many random-phase tones between 8.1 and 10 kHz.
    const rng = makeRng(3);
    const from = 48000;
    const n = 24000;
    const x = new Float32Array(n);
    for (let t = 0; t < 40; t++) {
      const tone = sine(8100 + rng() * 1900, from, n, 0.05, rng() * 2 * Math.PI);
      for (let i = 0; i < n; i++) x[i] = (x[i] as number) + (tone[i] as number);
    }
    const y = resample(x, from, 16000);
    expect(db(rms(y, 320, y.length - 320) / rms(x))).toBeLessThan(-60);
  });

  it('upsampling leaves no images (16k -> 48k and 44.1k)', () => {
    // Images of a 3 kHz tone would sit at 13 and 19 kHz; compare with the ideal tone.
    for (const to of [48000, 44100]) {
      const x = sine(3000, 16000, 8000);
      const y = resample(x, 16000, to);
      const ideal = sine(3000, to, y.length);
      const residual = y.map((v, i) => v - (ideal[i] as number));
      const edge = Math.round(to * 0.02);
      expect(db(rms(residual, edge, y.length - edge) / rms(ideal))).toBeLessThan(-70);
    }
  });

  it('the polyphase and general paths agree', () => {
    const rng = makeRng(11);
    const x = Float32Array.from({ length: 44100 }, () => rng() * 2 - 1);
    const a = resample(x, 44100, 16000); // polyphase table, 160 phases
    const b = resample(x, 44100, 16000.000001); // interpolated table
    expect(b.length).toBe(a.length);
    expect(maxError(a, b, 0, a.length)).toBeLessThan(1e-4);
  });

  it('resamples 60 s of 44.1 kHz audio to 16 kHz', () => {
    const x = sine(440, 44100, 44100 * 60, 0.5);
    const t0 = performance.now();
    const y = resample(x, 44100, 16000);
    // Speed is printed, not asserted (shared machines make timings noisy); typically 0.2-0.5 s.
    console.log(`resample: 60 s of 44.1 kHz audio in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(y.length).toBe(960000);
  });
});

describe('mixToMono', () => {
  it('averages the channels', () => {
    const tone = sine(440, 16000, 1600, 0.8);
    const half = mixToMono([tone, new Float32Array(1600)]);
    expect(maxError(half, tone.map((v) => v / 2), 0, 1600)).toBeLessThan(1e-7);
    const opposite = mixToMono([tone, tone.map((v) => -v)]);
    expect(opposite.every((v) => v === 0)).toBe(true);
    const three = mixToMono([Float32Array.from([3, 0]), Float32Array.from([0, 3]), Float32Array.from([0, 0])]);
    expect(Array.from(three)).toEqual([1, 1]);
  });

  it('returns a copy for one channel and rejects bad input', () => {
    const x = Float32Array.from([1, 2]);
    const y = mixToMono([x]);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual([1, 2]);
    expect(() => mixToMono([])).toThrow(RangeError);
    expect(() => mixToMono([new Float32Array(2), new Float32Array(3)])).toThrow(RangeError);
  });

  it('mixes a stereo WAV: tone + silence -> half amplitude, opposite phase -> silence', () => {
    const tone = sine(440, 44100, 22050, 0.6);
    const silence = new Float32Array(tone.length);
    const half = toMono16k(decodeWav(encodeWav([tone, silence], 44100, { bits: 16 }), 'x.wav'));
    const edge = 160;
    expect(db(rms(half, edge, half.length - edge) / (0.3 / Math.SQRT2))).toBeLessThan(0.01);
    expect(maxError(half, sine(440, 16000, half.length, 0.3), edge, half.length - edge)).toBeLessThan(1e-4);

    const inverted = tone.map((v) => -v);
    for (const format of [{ bits: 16 }, { bits: 24 }, { bits: 32, float: true }] as const) {
      const mono = toMono16k(decodeWav(encodeWav([tone, inverted], 44100, format), 'x.wav'));
      // Integer rounding of +x and -x can differ by one step at exact .5 ties, never more.
      expect(maxError(mono, new Float32Array(mono.length), 0, mono.length)).toBeLessThanOrEqual(2 ** -(format.bits - 1));
    }
  });
});
