/**
 * Small helpers on the 16-bit PCM WAV files the corpus builder writes: read the header (format,
 * duration) without decoding, measure levels, and add noise in place at a given SNR. Conversion
 * (resampling, speed, band-limiting) is sox's job; full decoding of arbitrary WAVs lives in
 * src/audio.
 */
import { open, readFile, writeFile } from 'node:fs/promises';

import type { Rng } from '../../src/util/rng.js';

export interface WavHeader {
  /** 1 = PCM, 3 = IEEE float, 0xfffe = extensible (sub-format not inspected). */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Byte offset of the sample data. */
  dataOffset: number;
  /** Bytes of sample data (clamped to what the file holds). */
  dataBytes: number;
  /** Seconds. */
  duration: number;
}

/** Parse a RIFF/WAVE header from the start of a file (`fileSize` clamps a bogus data size). */
export function parseWavHeader(buf: Buffer, fileSize = buf.length): WavHeader {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let off = 12;
  let fmt: Omit<WavHeader, 'dataOffset' | 'dataBytes' | 'duration'> | null = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (body + 16 > buf.length) break;
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk before fmt chunk');
      const dataBytes = Math.max(0, Math.min(size, fileSize - body));
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8);
      return { ...fmt, dataOffset: body, dataBytes, duration: bytesPerSecond > 0 ? dataBytes / bytesPerSecond : 0 };
    }
    off = body + size + (size % 2);
  }
  throw new Error('WAV header incomplete: no data chunk found');
}

/** Read only the header of a WAV file. */
export async function readWavHeader(file: string): Promise<WavHeader> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(size, 4096));
    await fh.read(buf, 0, buf.length, 0);
    return parseWavHeader(buf, size);
  } finally {
    await fh.close();
  }
}

/** True when the header is the corpus format: 16 kHz, mono, 16-bit PCM. */
export function isCorpusFormat(h: WavHeader): boolean {
  return (h.format === 1 || h.format === 0xfffe) && h.channels === 1 && h.bitsPerSample === 16 && h.sampleRate === 16000;
}

/** Samples of a 16-bit mono file as an Int16Array view copy. */
function samplesOf(buf: Buffer, h: WavHeader): Int16Array {
  const n = Math.floor(h.dataBytes / 2);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(h.dataOffset + 2 * i);
  return out;
}

export interface Levels {
  /** Peak absolute sample value, 0-32768. */
  peak: number;
  /** RMS over the whole file. */
  rms: number;
  /** RMS over the 20 ms frames within 40 dB of the loudest frame (speech, not leading silence). */
  activeRms: number;
}

export function measureLevels(x: Int16Array, sampleRate = 16000): Levels {
  let peak = 0;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const a = v < 0 ? -v : v;
    if (a > peak) peak = a;
    sum += v * v;
  }
  const frame = Math.max(1, Math.round(sampleRate * 0.02));
  const energies: number[] = [];
  for (let s = 0; s + frame <= x.length; s += frame) {
    let e = 0;
    for (let i = s; i < s + frame; i++) e += (x[i] as number) ** 2;
    energies.push(e / frame);
  }
  const maxE = energies.reduce((m, e) => Math.max(m, e), 0);
  const active = energies.filter((e) => e >= maxE * 1e-4);
  const activeRms = active.length ? Math.sqrt(active.reduce((a, e) => a + e, 0) / active.length) : 0;
  return { peak, rms: x.length ? Math.sqrt(sum / x.length) : 0, activeRms };
}

export const NOISE_TYPES = ['white', 'pink', 'brown'] as const;
export type NoiseType = (typeof NOISE_TYPES)[number];

/** Unit-RMS noise of the given colour. */
export function makeNoise(n: number, type: NoiseType, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  const gauss = (): number => {
    const u = 1 - rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  if (type === 'white') {
    for (let i = 0; i < n; i++) out[i] = gauss();
  } else if (type === 'pink') {
    // Paul Kellet's refined pink filter.
    let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
    for (let i = 0; i < n; i++) {
      const w = gauss();
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.969 * b2 + w * 0.153852;
      b3 = 0.8665 * b3 + w * 0.3104856;
      b4 = 0.55 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.016898;
      out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
      b6 = w * 0.115926;
    }
  } else {
    // Leaky integrator of white noise (brown/red), high-passed by the leak.
    let y = 0;
    for (let i = 0; i < n; i++) {
      y = 0.995 * y + gauss();
      out[i] = y;
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (out[i] as number) ** 2;
  const scale = n && sum > 0 ? 1 / Math.sqrt(sum / n) : 0;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) * scale;
  return out;
}

export interface CheckedWav {
  header: WavHeader;
  levels: Levels;
}

/**
 * Read a corpus WAV, check its format and levels, and optionally add noise in place at `snrDb`
 * relative to the speech (active-frame) RMS. Throws when the file is not 16 kHz mono 16-bit or
 * is silent.
 */
export async function checkAndAugment(
  file: string,
  noise: { type: NoiseType; snr: number; rng: Rng } | null,
): Promise<CheckedWav> {
  const buf = await readFile(file);
  const header = parseWavHeader(buf);
  if (!isCorpusFormat(header)) {
    throw new Error(
      `unexpected audio format: ${header.sampleRate} Hz, ${header.channels} channel(s), ${header.bitsPerSample}-bit (format ${header.format})`,
    );
  }
  const x = samplesOf(buf, header);
  const levels = measureLevels(x, header.sampleRate);
  if (levels.peak < 64) throw new Error(`silent output (peak ${levels.peak})`);
  if (noise) {
    const n = makeNoise(x.length, noise.type, noise.rng);
    const gain = levels.activeRms / Math.pow(10, noise.snr / 20);
    for (let i = 0; i < x.length; i++) {
      const v = Math.round((x[i] as number) + gain * (n[i] as number));
      buf.writeInt16LE(v > 32767 ? 32767 : v < -32768 ? -32768 : v, header.dataOffset + 2 * i);
    }
    await writeFile(file, buf);
  }
  return { header, levels };
}
