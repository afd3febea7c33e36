/** From a WAV file (or decoded audio) to the mono float32 samples the features expect. */
import { mixToMono, resample } from './resample.js';
import { readWavFile, type DecodedAudio } from './wav.js';

/** The sample rate the models work at. */
export const DEFAULT_SAMPLE_RATE = 16000;

/** Mix down to mono and resample to `targetRate`. */
function toMonoAt(decoded: DecodedAudio, targetRate: number): Float32Array {
  const { channels, sampleRate } = decoded;
  // One channel goes straight to resample (which copies), saving mixToMono's copy.
  const mono = channels.length === 1 ? (channels[0] as Float32Array) : mixToMono(channels);
  return resample(mono, sampleRate, targetRate);
}

/** Decoded audio as 16 kHz mono. */
export function toMono16k(decoded: DecodedAudio): Float32Array {
  return toMonoAt(decoded, DEFAULT_SAMPLE_RATE);
}

/**
 * Load a WAV file (or take already decoded audio) as mono float32 samples at `targetRate`
 * (16 kHz by default). File problems are AudioErrors; a bad `targetRate` is a RangeError.
 */
export async function loadAudio(input: string | DecodedAudio, targetRate = DEFAULT_SAMPLE_RATE): Promise<Float32Array> {
  const decoded = typeof input === 'string' ? await readWavFile(input) : input;
  return toMonoAt(decoded, targetRate);
}
