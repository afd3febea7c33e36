/** Live dictation: voice-activity detection, partial and final transcripts, audio sources. */
export { SampleBuffer } from './buffer.js';
export {
  DEFAULT_DICTATION_OPTIONS,
  Dictation,
  LISTEN_SAMPLE_RATE,
  type DictationEvent,
  type DictationOptions,
  type DictationStats,
  type FinalEvent,
  type PartialEvent,
  type Recognizer,
} from './dictation.js';
export {
  checkRecorder,
  FileSource,
  findExecutable,
  ListenError,
  MicrophoneSource,
  missingRecorderError,
  RECORDER_PACKAGES,
  RECORDERS,
  S16leDecoder,
  type AudioSource,
  type FileSourceOptions,
  type ListenErrorCode,
  type MicrophoneOptions,
  type RecorderName,
  type SourceHandlers,
} from './sources.js';
