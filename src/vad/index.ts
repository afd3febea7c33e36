/** Voice-activity detection: streaming endpointing for `koe listen`, and splitting long audio at pauses. */
export {
  DEFAULT_VAD_OPTIONS,
  detectSegments,
  energyDb,
  resolveVadOptions,
  VoiceActivityDetector,
  type EndReason,
  type VadEvent,
  type VadOptions,
  type VadSegment,
} from './detector.js';
