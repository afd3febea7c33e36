import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FEATURE_CONFIG,
  type FeatureConfig,
  type FeatureMatrix,
  computeMfcc,
  computeMfccJs,
  configureMeyda,
  extractFeatures,
  featureDim,
  frameRow,
  getMeyda,
  hopSamples,
  numFrames,
  windowSamples,
} from '../src/features/index.js';
import { makeRng } from '../src/util/rng.js';

// ---------------------------------------------------------------------------------------------
// Independent reference: framing + direct DFT (float64, no FFT library) + meyda's mel filter bank
// formula (reproduced from node_modules/meyda/dist/esm/utilities.js createMelFilterBank, whose
// intermediate mel / Hz values live in Float32Arrays, hence Math.fround) + ln(1 + E) + meyda's
// DCT (the `dct` package: unnormalized DCT-II, scale 2).
// ---------------------------------------------------------------------------------------------

const hzToMel = (f: number): number => 1125 * Math.log(1 + f / 700);
const melToHz = (m: number): number => 700 * (Math.exp(m / 1125) - 1);

interface RefBank {
  /** filters x (fftSize / 2) weights; meyda only ever uses bins 0 .. fftSize/2 - 1. */
  weights: Float64Array[];
  /** FFT bin of each filter's peak. */
  peakBin: number[];
}

function refMelBank(cfg: FeatureConfig): RefBank {
  const numFilters = Math.max(cfg.melBands, cfg.numCeps);
  const N = cfg.fftSize;
  const step = (hzToMel(cfg.sampleRate / 2) - hzToMel(0)) / (numFilters + 1);
  const bins: number[] = [];
  for (let i = 0; i < numFilters + 2; i++) {
    const mel = Math.fround(i * step);
    const hz = Math.fround(melToHz(mel));
    bins.push(Math.floor(((N + 1) * hz) / cfg.sampleRate));
  }
  const weights: Float64Array[] = [];
  for (let j = 0; j < numFilters; j++) {
    const w = new Float64Array(N / 2);
    const [lo, mid, hi] = [bins[j] as number, bins[j + 1] as number, bins[j + 2] as number];
    for (let i = lo; i < mid && i < N / 2; i++) w[i] = (i - lo) / (mid - lo);
    for (let i = mid; i < hi && i < N / 2; i++) w[i] = (hi - i) / (hi - mid);
    weights.push(w);
  }
  return { weights, peakBin: bins.slice(1, numFilters + 1) };
}

/** Scaled, Hamming-windowed frame t (length = window), zero beyond the audio. */
function refFrame(x: Float32Array, t: number, cfg: FeatureConfig): Float64Array {
  const win = Math.round((cfg.sampleRate * cfg.windowMs) / 1000);
  const hop = Math.round((cfg.sampleRate * cfg.hopMs) / 1000);
  const out = new Float64Array(win);
  for (let n = 0; n < win; n++) {
    const i = t * hop + n;
    const s = i < x.length ? (x[i] as number) : 0;
    out[n] = s * 32768 * (0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (win - 1)));
  }
  return out;
}

/** |X_k|^2, k = 0 .. N/2 - 1, by the DFT definition (the frame is implicitly zero-padded to N). */
function refPowerSpectrum(frame: Float64Array, N: number): Float64Array {
  const P = new Float64Array(N / 2);
  for (let k = 0; k < N / 2; k++) {
    let re = 0;
    let im = 0;
    for (let n = 0; n < frame.length; n++) {
      const a = (2 * Math.PI * ((k * n) % N)) / N;
      re += (frame[n] as number) * Math.cos(a);
      im -= (frame[n] as number) * Math.sin(a);
    }
    P[k] = re * re + im * im;
  }
  return P;
}

function refBandEnergies(P: Float64Array, bank: RefBank): number[] {
  return bank.weights.map((w) => {
    let e = 0;
    for (let k = 0; k < w.length; k++) e += (w[k] as number) * (P[k] as number);
    return e;
  });
}

function refMfccFrame(x: Float32Array, t: number, cfg: FeatureConfig, bank: RefBank): number[] {
  const logE = refBandEnergies(refPowerSpectrum(refFrame(x, t, cfg), cfg.fftSize), bank).map((e) => Math.log(1 + e));
  const L = logE.length;
  const c: number[] = [];
  for (let k = 0; k < cfg.numCeps; k++) {
    let s = 0;
    for (let n = 0; n < L; n++) s += (logE[n] as number) * Math.cos((Math.PI / L) * (n + 0.5) * k);
    c.push(2 * s);
  }
  return c;
}

/**
 * meyda keeps float32 intermediates (amplitude/power spectrum, band sums, log energies), so a
 * log-energy carries a relative error around 1e-6; c0 = 2 x (sum of 40 of them, ~20-30 each).
 */
const ABS_TOL = 5e-4;

type MfccFn = (x: Float32Array, cfg: FeatureConfig) => FeatureMatrix;

function expectMatchesReference(x: Float32Array, cfg: FeatureConfig, frames: number[], fn: MfccFn = computeMfcc): number {
  const m = fn(x, cfg);
  const bank = refMelBank(cfg);
  let maxErr = 0;
  for (const t of frames) {
    const ref = refMfccFrame(x, t, cfg, bank);
    const got = frameRow(m, t);
    for (let k = 0; k < cfg.numCeps; k++) {
      const err = Math.abs((got[k] as number) - (ref[k] as number));
      maxErr = Math.max(maxErr, err);
      if (err > ABS_TOL) {
        throw new Error(`frame ${t} coef ${k}: got ${got[k]}, reference ${ref[k]} (|diff| ${err})`);
      }
    }
  }
  return maxErr;
}

function noise(n: number, seed: number, amp = 0.5): Float32Array {
  const rng = makeRng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * (2 * rng() - 1);
  return x;
}

function tone(n: number, freq: number, sr: number, amp = 0.5): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / sr);
  return x;
}

/** Linear chirp f0 -> f1 over the whole signal. */
function chirp(n: number, f0: number, f1: number, sr: number, amp = 0.5): Float32Array {
  const x = new Float32Array(n);
  const T = n / sr;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    x[i] = amp * Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * T)));
  }
  return x;
}

const cfg = DEFAULT_FEATURE_CONFIG;

describe('feature config', () => {
  it('defaults: 16 kHz, 400-sample window, 160-sample hop, 39 dims', () => {
    expect(cfg).toMatchObject({ sampleRate: 16000, fftSize: 512, melBands: 40, numCeps: 13, deltaWindow: 2, useDeltas: true });
    expect(windowSamples(cfg)).toBe(400);
    expect(hopSamples(cfg)).toBe(160);
    expect(featureDim(cfg)).toBe(39);
    expect(featureDim({ ...cfg, useDeltas: false })).toBe(13);
  });

  it('rejects configs meyda cannot compute', () => {
    const x = new Float32Array(1000);
    expect(() => computeMfcc(x, { ...cfg, fftSize: 500 })).toThrow(/power of two/);
    expect(() => computeMfcc(x, { ...cfg, fftSize: 256 })).toThrow(/shorter than the window/);
    expect(() => computeMfcc(x, { ...cfg, numCeps: 41, melBands: 64 })).toThrow(/numCeps/);
    expect(() => computeMfcc(x, { ...cfg, numCeps: 20, melBands: 13 })).toThrow(/exceed melBands/);
  });
});

describe('computeMfcc vs an independent DFT + mel + DCT reference', () => {
  it('random signal', () => {
    const x = noise(16000, 7);
    const last = numFrames(x.length, cfg) - 1;
    const err = expectMatchesReference(x, cfg, [0, 1, 2, 37, 50, last]);
    expect(err).toBeLessThan(ABS_TOL);
  });

  it('chirp 100 Hz -> 7.5 kHz', () => {
    const x = chirp(8000, 100, 7500, 16000);
    const err = expectMatchesReference(x, cfg, [0, 10, 20, 30, 40, numFrames(x.length, cfg) - 1]);
    expect(err).toBeLessThan(ABS_TOL);
  });

  it('quiet signal (ln(1 + x) regime) and a partial final window', () => {
    const x = noise(750, 3, 1e-4);
    expect(numFrames(750, cfg)).toBe(3);
    expectMatchesReference(x, cfg, [0, 1, 2]);
  });

  it('non-default configs (26 bands, 20 cepstra, 8 kHz / 256-point FFT)', () => {
    const x = chirp(4000, 200, 3800, 8000);
    expectMatchesReference(x, { ...cfg, melBands: 26, numCeps: 20 }, [0, 5, 10]);
    expectMatchesReference(x, { ...cfg, sampleRate: 8000, fftSize: 256, melBands: 23 }, [0, 5, 10]);
  });
});

describe('computeMfccJs (the plain-TypeScript engine)', () => {
  it('matches the reference and meyda on noise, a chirp and other configs', () => {
    const x = noise(16000, 7);
    expectMatchesReference(x, cfg, [0, 1, 2, 37, 50, numFrames(x.length, cfg) - 1], computeMfccJs);
    const c = chirp(8000, 100, 7500, 16000);
    expectMatchesReference(c, cfg, [0, 10, 20, 30, 40, 47], computeMfccJs);
    const c8 = chirp(4000, 200, 3800, 8000);
    expectMatchesReference(c8, { ...cfg, sampleRate: 8000, fftSize: 256, melBands: 23 }, [0, 5, 10], computeMfccJs);
    expectMatchesReference(c8, { ...cfg, melBands: 26, numCeps: 20 }, [0, 5, 10], computeMfccJs);
    for (const [sig, c2] of [
      [x, cfg],
      [c, cfg],
      [noise(3000, 8, 1e-4), cfg],
      [c8, { ...cfg, melBands: 26, numCeps: 20 }],
    ] as Array<[Float32Array, FeatureConfig]>) {
      const a = computeMfcc(sig, c2);
      const b = computeMfccJs(sig, c2);
      expect(b.frames).toBe(a.frames);
      expect(b.dim).toBe(a.dim);
      let maxErr = 0;
      for (let i = 0; i < a.data.length; i++) maxErr = Math.max(maxErr, Math.abs((a.data[i] as number) - (b.data[i] as number)));
      expect(maxErr).toBeLessThan(ABS_TOL);
    }
  });

  it('silence, short audio and extractFeatures engine option', () => {
    expect(computeMfccJs(new Float32Array(16000), cfg).data.every((v) => v === 0)).toBe(true);
    expect(computeMfccJs(new Float32Array(0), cfg).frames).toBe(1);
    const x = noise(5000, 31);
    const a = extractFeatures(x, cfg, { engine: 'meyda' });
    const b = extractFeatures(x, cfg, { engine: 'js' });
    expect(b.dim).toBe(39);
    expect(b.frames).toBe(a.frames);
    for (let i = 0; i < a.data.length; i++) expect(Math.abs((a.data[i] as number) - (b.data[i] as number))).toBeLessThan(ABS_TOL);
  });
});

describe('known answers', () => {
  it('silence: every frame is ln(1 + 0) = 0, finite and equal', () => {
    const m = computeMfcc(new Float32Array(16000), cfg);
    expect(m.frames).toBe(98);
    expect(m.dim).toBe(13);
    for (let i = 0; i < m.data.length; i++) {
      expect(Number.isFinite(m.data[i])).toBe(true);
      expect(m.data[i]).toBe(0);
    }
    const f = extractFeatures(new Float32Array(16000));
    expect(f.data.every((v) => v === 0)).toBe(true);
  });

  it("a pure tone's power lands in the mel band whose centre is nearest the tone", () => {
    const bank = refMelBank(cfg);
    const centresHz = bank.peakBin.map((b) => (b * cfg.sampleRate) / cfg.fftSize);
    const meyda = getMeyda();
    for (const f of [440, 1000, 3000]) {
      const x = tone(4000, f, cfg.sampleRate);
      const P = refPowerSpectrum(refFrame(x, 5, cfg), cfg.fftSize);
      const energies = refBandEnergies(P, bank);
      const loudest = energies.indexOf(Math.max(...energies));
      const dist = centresHz.map((c) => Math.abs(c - f));
      const nearest = dist.indexOf(Math.min(...dist));
      expect(loudest, `tone ${f} Hz`).toBe(nearest);
      // The band holds most of the tone's power in the filter bank.
      expect((energies[loudest] as number) / energies.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.4);

      // meyda's own filter bank, as configured by computeMfcc, agrees (its log band energies).
      computeMfcc(x, cfg);
      configureMeyda(cfg);
      const frame = refFrame(x, 5, cfg);
      const padded = new Float64Array(cfg.fftSize);
      padded.set(frame);
      const meydaBands = meyda.extract('melBands', padded) as number[];
      expect(meydaBands.length).toBe(40);
      expect(meydaBands.indexOf(Math.max(...meydaBands))).toBe(nearest);
      for (let b = 0; b < 40; b++) {
        expect(Math.abs((meydaBands[b] as number) - Math.log(1 + (energies[b] as number)))).toBeLessThan(1e-4);
      }
    }
  });

  it('frame count: floor((n - 400) / 160) + 1, at least 1', () => {
    const cases: Array<[number, number]> = [
      [0, 1],
      [1, 1],
      [399, 1],
      [400, 1],
      [559, 1],
      [560, 2],
      [16000, 98],
      [16001, 98],
      [160000, 998],
    ];
    for (const [n, frames] of cases) {
      expect(numFrames(n, cfg), `n=${n}`).toBe(frames);
      if (n <= 16001) expect(computeMfcc(noise(n, n + 1), cfg).frames, `n=${n}`).toBe(frames);
    }
  });

  it('frame t covers samples [160 t, 160 t + 400)', () => {
    const x = noise(4000, 11);
    const m = computeMfcc(x, cfg);
    for (const t of [0, 1, 7, m.frames - 1]) {
      const alone = computeMfcc(x.slice(t * 160, t * 160 + 400), cfg);
      expect(alone.frames).toBe(1);
      expect(Array.from(frameRow(alone, 0))).toEqual(Array.from(frameRow(m, t)));
    }
  });

  it('audio shorter than a window is zero-padded to one frame', () => {
    const x = noise(250, 5);
    const padded = new Float32Array(400);
    padded.set(x);
    expect(Array.from(computeMfcc(x, cfg).data)).toEqual(Array.from(computeMfcc(padded, cfg).data));
    expect(computeMfcc(new Float32Array(0), cfg).frames).toBe(1);
  });
});

describe('meyda global state', () => {
  it('switching configs rebuilds the filter bank (meyda alone would not on a sampleRate/FFT change)', () => {
    const x = chirp(4000, 150, 3900, 16000);
    const first = computeMfcc(x, cfg);
    const configs: FeatureConfig[] = [
      { ...cfg, sampleRate: 8000 }, // only sampleRate differs: meyda would keep the 16 kHz bank
      { ...cfg, sampleRate: 8000, fftSize: 256 }, // only bufferSize differs from the previous one
      { ...cfg, melBands: 26 },
      { ...cfg, numCeps: 20 },
    ];
    for (const c of configs) {
      const other = computeMfcc(x, c);
      expect(other.dim).toBe(c.numCeps);
      expectMatchesReference(x, c, [0, 3, other.frames - 1]);
    }
    const again = computeMfcc(x, cfg);
    expect(Array.from(again.data)).toEqual(Array.from(first.data));
  });

  it('recovers when other code changes meyda settings in between', () => {
    const x = noise(2000, 21);
    const first = computeMfcc(x, cfg);
    const meyda = getMeyda();
    meyda.sampleRate = 44100;
    meyda.windowingFunction = 'hanning';
    meyda.extract('mfcc', new Float64Array(512)); // meyda keeps its (now stale) 16 kHz bank
    meyda.bufferSize = 1024;
    meyda.extract('mfcc', new Float64Array(1024));
    expect(Array.from(computeMfcc(x, cfg).data)).toEqual(Array.from(first.data));
    // Worse: a bank for other settings, with every setting then put back as koe wants it.
    meyda.sampleRate = 44100;
    meyda.melFilterBank = undefined;
    meyda.extract('mfcc', new Float64Array(512));
    meyda.sampleRate = 16000;
    meyda.windowingFunction = 'rect';
    expect(Array.from(computeMfcc(x, cfg).data)).toEqual(Array.from(first.data));
  });
});

describe('extractFeatures', () => {
  it('is MFCC + deltas + delta-deltas, 39 dims', () => {
    const x = noise(8000, 2);
    const f = extractFeatures(x);
    const m = computeMfcc(x, cfg);
    expect(f.dim).toBe(39);
    expect(f.frames).toBe(m.frames);
    for (const t of [0, 10, f.frames - 1]) {
      expect(Array.from(frameRow(f, t).subarray(0, 13))).toEqual(Array.from(frameRow(m, t)));
    }
    const plain = extractFeatures(x, { ...cfg, useDeltas: false });
    expect(plain.dim).toBe(13);
    expect(Array.from(plain.data)).toEqual(Array.from(m.data));
  });
});

describe('speed', () => {
  it('reports the real-time multiple for 10 s of audio (no assertion: machines are noisy)', () => {
    const sr = 16000;
    const x = noise(10 * sr, 99, 0.1);
    const t = tone(10 * sr, 440, sr, 0.3);
    for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (t[i] as number);
    for (const engine of ['meyda', 'js'] as const) {
      extractFeatures(x.subarray(0, 2 * sr), cfg, { engine }); // warm-up (JIT)
      const times: number[] = [];
      let frames = 0;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        frames = extractFeatures(x, cfg, { engine }).frames;
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const median = times[2] as number;
      const best = times[0] as number;
      console.log(
        `features (${engine}): 10 s of 16 kHz audio (${frames} frames x 39) in ${median.toFixed(1)} ms median ` +
          `(best ${best.toFixed(1)} ms) = ${(10000 / median).toFixed(1)}x real time (best ${(10000 / best).toFixed(1)}x)`,
      );
      expect(frames).toBe(998);
    }
  });
});
