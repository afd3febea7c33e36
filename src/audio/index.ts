export { AudioError } from './errors.js';
export {
  decodeWav,
  encodeWav,
  inspectWav,
  readWavFile,
  MAX_WAV_SAMPLE_RATE,
  MIN_WAV_SAMPLE_RATE,
  type DecodeWavOptions,
  type DecodedAudio,
  type WavFormat,
  type WavInfo,
} from './wav.js';
export { mixToMono, resample } from './resample.js';
export { DEFAULT_SAMPLE_RATE, loadAudio, toMono16k } from './load.js';
