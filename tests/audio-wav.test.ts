import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AudioError,
  decodeWav,
  encodeWav,
  inspectWav,
  loadAudio,
  readWavFile,
  toMono16k,
  type WavFormat,
} from '../src/audio/index.js';
import { makeRng } from '../src/util/rng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'koe-audio-wav-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sine(freq: number, rate: number, n: number, amp: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Max |a - b| over [from, to). */
function maxError(a: Float32Array, b: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Amplitude of the `freq` component of x[from, to), projected over a whole number of periods. */
function toneAmplitude(x: Float32Array, freq: number, rate: number, from: number, to: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const period = rate / gcd(rate, freq); // samples in a whole number of cycles
  const end = from + Math.floor((to - from) / period) * period;
  let c = 0;
  let s = 0;
  for (let i = from; i < end; i++) {
    const a = (2 * Math.PI * freq * i) / rate;
    c += (x[i] as number) * Math.cos(a);
    s += (x[i] as number) * Math.sin(a);
  }
  return (2 * Math.hypot(c, s)) / (end - from);
}

/** Expect `fn` to throw an AudioError whose problem matches `problem`. */
function expectAudioError(fn: () => unknown, problem: RegExp | string, file = 'x.wav'): AudioError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AudioError);
  const err = caught as AudioError;
  expect(err.file).toBe(file);
  if (typeof problem === 'string') expect(err.problem).toBe(problem);
  else expect(err.problem).toMatch(problem);
  expect(err.message).toBe(`${file}: ${err.problem}`);
  return err;
}

// ---- helpers to craft headers by hand ----------------------------------------------------

function chunk(id: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length & 1));
  out.set(Buffer.from(id, 'latin1'));
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function fmtBody(code: number, channels: number, rate: number, bits: number, blockAlign = (channels * bits) / 8): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, code, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * blockAlign, true);
  v.setUint16(12, blockAlign, true);
  v.setUint16(14, bits, true);
  return b;
}

function riff(...chunks: Uint8Array[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), ...chunks]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

const ENCODINGS: WavFormat[] = [{ bits: 8 }, { bits: 16 }, { bits: 24 }, { bits: 32 }, { bits: 32, float: true }];
const RATES = [8000, 11025, 16000, 22050, 44100, 48000];

function label(f: WavFormat): string {
  return `${f.float ? 'float' : 'int'}${f.bits}`;
}

describe('WAV round trip through loadAudio (to 16 kHz mono)', () => {
  // Worst-case deviation from an ideal 16 kHz sine: quantization (step 2^-(bits-1), then
  // low-passed by the resampler) or, for fine encodings, the resampler's own error.
  const tolerance: Record<string, number> = { int8: 0.01, int16: 1e-4, int24: 2e-5, int32: 2e-5, float32: 2e-5 };

  for (const format of ENCODINGS) {
    for (const rate of RATES) {
      for (const numChannels of [1, 2]) {
        it(`${label(format)} ${rate} Hz ${numChannels === 1 ? 'mono' : 'stereo'}`, async () => {
          const n = Math.round(rate * 0.3) + 7; // an awkward length on purpose
          const tone = sine(440, rate, n, 0.5);
          const channels = numChannels === 1 ? [tone] : [tone, tone.slice()];
          const path = join(dir, `rt-${label(format)}-${rate}-${numChannels}.wav`);
          await writeFile(path, encodeWav(channels, rate, format));

          const y = await loadAudio(path);
          expect(y).toBeInstanceOf(Float32Array);
          expect(y.length).toBe(Math.round((n * 16000) / rate));

          const ref = sine(440, 16000, y.length, 0.5);
          const edge = 160; // 10 ms at each end, where the filter sees the zero padding
          expect(maxError(y, ref, edge, y.length - edge)).toBeLessThan(tolerance[label(format)] as number);
          const amp = toneAmplitude(y, 440, 16000, edge, y.length - edge);
          expect(Math.abs(20 * Math.log10(amp / 0.5))).toBeLessThan(0.01);
        });
      }
    }
  }

  it('handles 64-bit float and WAVE_FORMAT_EXTENSIBLE headers', async () => {
    const tone = sine(440, 44100, 8000, 0.5);
    for (const format of [
      { bits: 64, float: true },
      { bits: 16, extensible: true },
      { bits: 24, extensible: true },
      { bits: 32, float: true, extensible: true },
    ] as WavFormat[]) {
      const bytes = encodeWav([tone, tone], 44100, format);
      const info = inspectWav(bytes, 'x.wav');
      expect(info.extensible).toBe(!!format.extensible);
      expect(info.formatCode).toBe(format.float ? 3 : 1);
      const y = toMono16k(decodeWav(bytes, 'x.wav'));
      const ref = sine(440, 16000, y.length, 0.5);
      expect(maxError(y, ref, 160, y.length - 160)).toBeLessThan(1e-4);
    }
  });

  it('loadAudio accepts decoded audio and another target rate', async () => {
    const decoded = { sampleRate: 48000, channels: [sine(440, 48000, 4800, 0.5)] };
    const y = await loadAudio(decoded, 8000);
    expect(y.length).toBe(800);
    expect(maxError(y, sine(440, 8000, 800, 0.5), 80, 720)).toBeLessThan(1e-4);
  });
});

describe('decodeWav sample values', () => {
  it('decodes integer PCM linearly as v / 2^(bits-1), and round-trips exactly', () => {
    const x = Float32Array.from([-1, -0.5, -1e-3, 0, 1e-3, 0.5, 0.999, 1, 1.5, -1.5]);
    for (const bits of [8, 16, 24, 32] as const) {
      const scale = 2 ** (bits - 1);
      const expected = Array.from(x, (v) => Math.max(-scale, Math.min(scale - 1, Math.round(v * scale))) / scale || 0);
      const decoded = decodeWav(encodeWav(x, 16000, { bits }), 'x.wav');
      expect(Array.from(decoded.channels[0] as Float32Array)).toEqual(expected.map(Math.fround));
      // Decoded values re-encode to the same bytes.
      const again = encodeWav(decoded.channels, 16000, { bits });
      expect(again.equals(encodeWav(x, 16000, { bits }))).toBe(true);
    }
  });

  it('decodes the most negative 24-bit sample as -1 (works around a wav-decoder bug)', () => {
    const d = decodeWav(encodeWav(Float32Array.from([-1, 1, 0]), 16000, { bits: 24 }), 'x.wav');
    expect(d.channels[0]?.[0]).toBe(-1);
    expect(d.channels[0]?.[1]).toBeCloseTo(1, 6);
  });

  it('writes 8-bit as unsigned with silence at 128', () => {
    const bytes = encodeWav(new Float32Array(4), 8000, { bits: 8 });
    expect(Array.from(bytes.subarray(44))).toEqual([128, 128, 128, 128]);
    expect(Array.from(decodeWav(bytes, 'x.wav').channels[0] as Float32Array)).toEqual([0, 0, 0, 0]);
  });

  it('keeps float samples as written, including beyond [-1, 1], and zeroes NaN', () => {
    const x = Float32Array.from([0.25, -1.75, 3, Number.NaN]);
    const d = decodeWav(encodeWav(x, 16000, { bits: 32, float: true }), 'x.wav');
    expect(Array.from(d.channels[0] as Float32Array)).toEqual([0.25, -1.75, 3, 0]);
    expect(d.warnings).toEqual(['1 non-finite float samples replaced by 0']);
  });

  it('de-interleaves many channels and keeps the channel order', () => {
    const channels = Array.from({ length: 6 }, (_, c) => Float32Array.from({ length: 50 }, (_, i) => ((c + 1) * (i - 25)) / 200));
    for (const format of [{ bits: 16 }, { bits: 24, extensible: true }, { bits: 32, float: true }] as WavFormat[]) {
      const d = decodeWav(encodeWav(channels, 96000, format), 'x.wav');
      expect(d.sampleRate).toBe(96000);
      expect(d.channels.length).toBe(6);
      for (let c = 0; c < 6; c++) {
        expect(maxError(d.channels[c] as Float32Array, channels[c] as Float32Array, 0, 50)).toBeLessThan(1e-4);
      }
    }
  });

  it('reads a Buffer that is a slice of a larger allocation', () => {
    const wav = encodeWav(Float32Array.from([0.5, -0.5]), 16000);
    const big = Buffer.concat([Buffer.from('junk'), wav, Buffer.from('more')]);
    const slice = big.subarray(4, 4 + wav.length);
    expect(Array.from(decodeWav(slice, 'x.wav').channels[0] as Float32Array)).toEqual([0.5, -0.5]);
  });
});

describe('encodeWav headers', () => {
  it('writes the canonical 44-byte header for 16-bit PCM', () => {
    const bytes = encodeWav([new Float32Array(3), new Float32Array(3)], 22050);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes.length).toBe(44 + 12);
    expect(bytes.toString('latin1', 0, 4)).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(bytes.length - 8);
    expect(bytes.toString('latin1', 8, 16)).toBe('WAVEfmt ');
    expect(v.getUint32(16, true)).toBe(16);
    expect(v.getUint16(20, true)).toBe(1); // PCM
    expect(v.getUint16(22, true)).toBe(2); // channels
    expect(v.getUint32(24, true)).toBe(22050);
    expect(v.getUint32(28, true)).toBe(22050 * 4); // byte rate
    expect(v.getUint16(32, true)).toBe(4); // block align
    expect(v.getUint16(34, true)).toBe(16);
    expect(bytes.toString('latin1', 36, 40)).toBe('data');
    expect(v.getUint32(40, true)).toBe(12);
  });

  it('writes float with an 18-byte fmt chunk and a fact chunk', () => {
    const bytes = encodeWav(new Float32Array(5), 16000, { bits: 32, float: true });
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(v.getUint32(16, true)).toBe(18);
    expect(v.getUint16(20, true)).toBe(3);
    expect(bytes.toString('latin1', 38, 42)).toBe('fact');
    expect(v.getUint32(46, true)).toBe(5);
    expect(bytes.toString('latin1', 50, 54)).toBe('data');
    expect(bytes.length).toBe(58 + 20);
  });

  it('rejects bad arguments', () => {
    expect(() => encodeWav([], 16000)).toThrow(RangeError);
    expect(() => encodeWav([new Float32Array(2), new Float32Array(3)], 16000)).toThrow(/differ in length/);
    expect(() => encodeWav(new Float32Array(2), 0)).toThrow(RangeError);
    expect(() => encodeWav(new Float32Array(2), 44100.5)).toThrow(RangeError);
    expect(() => encodeWav(new Float32Array(2), 16000, { bits: 16, float: true })).toThrow(/unsupported format/);
    expect(() => encodeWav(new Float32Array(2), 16000, { bits: 64 })).toThrow(/unsupported format/);
  });
});

describe('tolerated irregularities', () => {
  const pcm = encodeWav(Float32Array.from([0.25, -0.25, 0.5, -0.5]), 16000).subarray(44); // 8 bytes of 16-bit audio

  it('skips unknown chunks, including odd-sized ones with or without the pad byte', () => {
    const fmt = chunk('fmt ', fmtBody(1, 1, 16000, 16));
    const padded = riff(chunk('LIST', new Uint8Array([1, 2, 3])), fmt, chunk('data', pcm));
    expect(Array.from(decodeWav(padded, 'x.wav').channels[0] as Float32Array)).toEqual([0.25, -0.25, 0.5, -0.5]);
    const listUnpadded = chunk('LIST', new Uint8Array([1, 2, 3])).subarray(0, 11); // no pad byte
    const unpadded = riff(listUnpadded, fmt, chunk('data', pcm));
    expect(Array.from(decodeWav(unpadded, 'x.wav').channels[0] as Float32Array)).toEqual([0.25, -0.25, 0.5, -0.5]);
  });

  it('accepts a data chunk before the fmt chunk, and chunks after the data', () => {
    const bytes = riff(chunk('data', pcm), chunk('fmt ', fmtBody(1, 1, 16000, 16)), chunk('LIST', new Uint8Array(10)));
    expect(decodeWav(bytes, 'x.wav').channels[0]?.length).toBe(4);
  });

  it('decodes the whole frames of a truncated data chunk, with a warning (strict mode rejects it)', () => {
    const full = encodeWav(sine(440, 16000, 500, 0.5), 16000); // 1000 bytes of audio
    const cut = full.subarray(0, 44 + 501); // 250 whole frames and a half
    const d = decodeWav(cut, 'x.wav');
    expect(d.channels[0]?.length).toBe(250);
    expect(d.warnings?.[0]).toMatch(/^truncated WAV \(header says 1000 bytes of audio, file has 501\); using the 250 whole frames/);
    expectAudioError(() => decodeWav(cut, 'x.wav', { strict: true }), 'truncated WAV (header says 1000 bytes of audio, file has 501)');
  });

  it('accepts streamed WAVs whose sizes are placeholders (0xFFFFFFFF)', () => {
    const bytes = Buffer.from(encodeWav(Float32Array.from([0.5, -0.5, 0.25]), 16000));
    bytes.writeUInt32LE(0xffffffff, 4);
    bytes.writeUInt32LE(0xffffffff, 40);
    const d = decodeWav(bytes, 'x.wav');
    expect(Array.from(d.channels[0] as Float32Array)).toEqual([0.5, -0.5, 0.25]);
    expect(d.warnings?.length).toBe(1);
  });

  it('reads RF64 files (data size in the ds64 chunk)', () => {
    const ds64 = new Uint8Array(28);
    new DataView(ds64.buffer).setUint32(8, pcm.length, true); // data size, low word
    const bytes = riff(chunk('ds64', ds64), chunk('fmt ', fmtBody(1, 1, 16000, 16)), chunk('data', pcm));
    bytes.write('RF64', 0, 'latin1');
    bytes.writeUInt32LE(0xffffffff, 4);
    bytes.writeUInt32LE(0xffffffff, bytes.length - pcm.length - 4);
    const d = decodeWav(bytes, 'x.wav');
    expect(Array.from(d.channels[0] as Float32Array)).toEqual([0.25, -0.25, 0.5, -0.5]);
    expect(d.warnings).toBeUndefined();
  });

  it('ignores a trailing partial frame, with a warning', () => {
    const bytes = riff(chunk('fmt ', fmtBody(1, 1, 16000, 16)), chunk('data', new Uint8Array([...pcm, 7])));
    const d = decodeWav(bytes, 'x.wav');
    expect(d.channels[0]?.length).toBe(4);
    expect(d.warnings?.[0]).toMatch(/1 bytes that do not form a whole frame/);
  });

  it('decodes samples in a wider container (20 valid bits in 24, 12 in 16)', () => {
    const bytes = Buffer.from(encodeWav(Float32Array.from([0.5, -0.25]), 16000, { bits: 24, extensible: true }));
    bytes.writeUInt16LE(20, 38); // wValidBitsPerSample
    const d = decodeWav(bytes, 'x.wav');
    expect(Array.from(d.channels[0] as Float32Array)).toEqual([0.5, -0.25]);
    expect(inspectWav(bytes, 'x.wav').validBits).toBe(20);
    const twelve = riff(chunk('fmt ', fmtBody(1, 1, 16000, 12, 2)), chunk('data', pcm));
    expect(Array.from(decodeWav(twelve, 'x.wav').channels[0] as Float32Array)).toEqual([0.25, -0.25, 0.5, -0.5]);
  });
});

describe('bad input files', () => {
  const fmt16 = chunk('fmt ', fmtBody(1, 1, 16000, 16));
  const valid = encodeWav(sine(440, 16000, 100, 0.5), 16000);

  it('empty file', () => {
    expectAudioError(() => decodeWav(new Uint8Array(0), 'x.wav'), 'empty file');
  });

  it('not a WAV: random bytes, a text file, other audio formats', () => {
    const rng = makeRng(7);
    const noise = Uint8Array.from({ length: 1000 }, () => Math.floor(rng() * 256));
    expectAudioError(() => decodeWav(noise, 'x.wav'), 'not a WAV file (no RIFF/WAVE header)');
    const text = Buffer.from('hello world, this is a text file and not audio at all\n');
    expectAudioError(() => decodeWav(text, 'x.wav'), 'not a WAV file (no RIFF/WAVE header)');
    expectAudioError(() => decodeWav(Buffer.from('hi'), 'x.wav'), 'not a WAV file (no RIFF/WAVE header)');
    expectAudioError(() => decodeWav(Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00', 'latin1'), 'x.wav'), 'not a WAV file (no RIFF/WAVE header; looks like MP3)');
    expectAudioError(() => decodeWav(Buffer.from('fLaC\x00\x00\x00\x22\x00\x00\x00\x00', 'latin1'), 'x.wav'), /looks like FLAC/);
    expectAudioError(() => decodeWav(Buffer.from('RIFF\x04\x00\x00\x00AVI LIST', 'latin1'), 'x.wav'), 'not a WAV file (no RIFF/WAVE header)');
    const rifx = Buffer.from(valid);
    rifx.write('RIFX', 0, 'latin1');
    expectAudioError(() => decodeWav(rifx, 'x.wav'), 'unsupported WAV variant (big-endian RIFX)');
  });

  it('file cut inside the header', () => {
    for (const cut of [3, 4, 8, 11, 12, 20, 30, 40]) {
      expectAudioError(() => decodeWav(valid.subarray(0, cut), 'x.wav'), `truncated WAV (file ends inside the header, after ${cut} bytes)`);
    }
    // Header complete, but no audio at all.
    expectAudioError(() => decodeWav(valid.subarray(0, 44), 'x.wav'), 'truncated WAV (header says 200 bytes of audio, file has 0)');
    expectAudioError(() => decodeWav(valid.subarray(0, 45), 'x.wav'), 'truncated WAV (header says 200 bytes of audio, file has 1)');
  });

  it('zero-length data chunk', () => {
    expectAudioError(() => decodeWav(encodeWav(new Float32Array(0), 16000), 'x.wav'), 'WAV file contains no audio samples');
    expectAudioError(() => decodeWav(riff(fmt16, chunk('data', new Uint8Array(1))), 'x.wav'), /^WAV file contains no audio samples/);
  });

  it('unsupported encodings: mu-law, A-law, ADPCM, 64-bit integers, 16-bit float, unknown sub-format', () => {
    const mulaw = riff(chunk('fmt ', fmtBody(7, 1, 8000, 8)), chunk('data', new Uint8Array(100).fill(0xff)));
    const err = expectAudioError(() => decodeWav(mulaw, 'x.wav'), /^unsupported WAV encoding \(format code 7, 8 bits\)/);
    expect(err.problem).toMatch(/mu-law/);
    const alaw = riff(chunk('fmt ', fmtBody(6, 1, 8000, 8)), chunk('data', new Uint8Array(100)));
    expectAudioError(() => decodeWav(alaw, 'x.wav'), /^unsupported WAV encoding \(format code 6, 8 bits\): A-law/);
    const adpcm = riff(chunk('fmt ', fmtBody(0x11, 1, 8000, 4, 256)), chunk('data', new Uint8Array(256)));
    expectAudioError(() => decodeWav(adpcm, 'x.wav'), /^unsupported WAV encoding \(format code 17, 4 bits\): IMA ADPCM/);
    const int64 = riff(chunk('fmt ', fmtBody(1, 1, 8000, 64)), chunk('data', new Uint8Array(64)));
    expectAudioError(() => decodeWav(int64, 'x.wav'), 'unsupported WAV encoding (format code 1, 64 bits)');
    const half = riff(chunk('fmt ', fmtBody(3, 1, 8000, 16)), chunk('data', new Uint8Array(64)));
    expectAudioError(() => decodeWav(half, 'x.wav'), 'unsupported WAV encoding (format code 3, 16 bits)');
    // WAVE_FORMAT_EXTENSIBLE carrying mu-law, and one with an unknown GUID.
    const ext = Buffer.from(encodeWav(new Float32Array(10), 8000, { bits: 16, extensible: true }));
    ext.writeUInt16LE(7, 44);
    expectAudioError(() => decodeWav(ext, 'x.wav'), /^unsupported WAV encoding \(format code 7, 16 bits\)/);
    ext.writeUInt16LE(1, 44);
    ext[50] = 0x42;
    expectAudioError(() => decodeWav(ext, 'x.wav'), /^unsupported WAV encoding \(WAVE_FORMAT_EXTENSIBLE sub-format 0100/);
  });

  it('unsupported sample rate, zero channels, bad fmt chunk, missing chunks', () => {
    const at = (rate: number) => riff(chunk('fmt ', fmtBody(1, 1, rate, 16)), chunk('data', new Uint8Array(8)));
    expectAudioError(() => decodeWav(at(0), 'x.wav'), /^unsupported sample rate \(0 Hz/);
    expectAudioError(() => decodeWav(at(5_000_000), 'x.wav'), /^unsupported sample rate \(5000000 Hz/);
    const mono = riff(chunk('fmt ', fmtBody(1, 0, 16000, 16, 2)), chunk('data', new Uint8Array(8)));
    expectAudioError(() => decodeWav(mono, 'x.wav'), 'invalid WAV header (0 channels)');
    const shortFmt = riff(chunk('fmt ', new Uint8Array(10)), chunk('data', new Uint8Array(8)));
    expectAudioError(() => decodeWav(shortFmt, 'x.wav'), 'invalid WAV header (fmt chunk is 10 bytes, expected at least 16)');
    expectAudioError(() => decodeWav(riff(chunk('data', new Uint8Array(8))), 'x.wav'), 'invalid WAV file (no fmt chunk)');
    expectAudioError(() => decodeWav(riff(fmt16), 'x.wav'), 'truncated WAV (no data chunk; file ends after 36 bytes)');
  });

  it('never lets anything but AudioError escape (fuzzed headers and cuts)', () => {
    const rng = makeRng(12345);
    const bases = [
      valid,
      encodeWav([sine(300, 22050, 64, 0.3), sine(500, 22050, 64, 0.3)], 22050, { bits: 24, extensible: true }),
      encodeWav(sine(300, 8000, 64, 0.3), 8000, { bits: 32, float: true }),
    ];
    let decoded = 0;
    let rejected = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const base = bases[trial % bases.length] as Buffer;
      const bytes = Buffer.from(base.subarray(0, 1 + Math.floor(rng() * base.length)));
      const flips = Math.floor(rng() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(rng() * Math.min(bytes.length, 80))] = Math.floor(rng() * 256);
      try {
        const d = decodeWav(bytes, 'fuzz.wav');
        expect(d.channels.length).toBeGreaterThan(0);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(AudioError);
        rejected++;
      }
    }
    expect(decoded).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('readWavFile', () => {
  it('reads a file from disk', async () => {
    const path = join(dir, 'read.wav');
    await writeFile(path, encodeWav([Float32Array.from([0.5]), Float32Array.from([-0.5])], 44100));
    const d = await readWavFile(path);
    expect(d.sampleRate).toBe(44100);
    expect(d.channels.map((c) => Array.from(c))).toEqual([[0.5], [-0.5]]);
  });

  it('missing file, directory, text file', async () => {
    const missing = join(dir, 'nope.wav');
    await expect(readWavFile(missing)).rejects.toThrow(new AudioError(missing, 'file not found'));
    await expect(loadAudio(missing)).rejects.toBeInstanceOf(AudioError);
    const sub = join(dir, 'subdir.wav');
    await mkdir(sub);
    await expect(readWavFile(sub)).rejects.toMatchObject({ name: 'AudioError', file: sub, problem: 'is a directory, not a WAV file' });
    const text = join(dir, 'notes.wav');
    await writeFile(text, 'not audio\n');
    await expect(loadAudio(text)).rejects.toMatchObject({ message: `${text}: not a WAV file (no RIFF/WAVE header)` });
  });

  it('AudioError messages are one line', () => {
    const err = new AudioError('a\nb.wav', 'bad\r\nthing');
    expect(err.message).toBe('a b.wav: bad thing');
    expect(err.name).toBe('AudioError');
    expect(err).toBeInstanceOf(Error);
  });
});
