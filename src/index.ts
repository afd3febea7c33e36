/** koe's library API. The CLI is built on exactly these pieces. */
export { Transcriber, defaultModelDir, SAMPLE_RATE, type Transcription, type LoadOptions } from './transcriber.js';
export { initBackend, backendInfo, type BackendChoice, type BackendInfo } from './backend.js';
export { loadAudio, readWavFile, decodeWav, encodeWav, resample, mixToMono, AudioError, type DecodedAudio } from './audio/index.js';
export { extractFeatures, normalize, DEFAULT_FEATURE_CONFIG, type FeatureConfig, type FeatureMatrix, type NormStats } from './features/index.js';
export { type Hypothesis, type DecodeOptions } from './decode/hypothesis.js';
export { loadModel, saveModel, validateDecoding, ModelLoadError, type LoadedModel, type RecommendedDecoding } from './io/model-dir.js';
export { readManifest, writeManifest, type ManifestEntry } from './io/manifest.js';
export { wordErrors, charErrors, ErrorAccumulator, formatAlignment, alignWords } from './metrics/wer.js';
export { normalizeTranscript } from './text/normalize.js';
export { train, TrainingDivergedError, type TrainOptions, type TrainResult } from './train/trainer.js';
export { resolveTrainConfig, loadTrainConfig, DEFAULT_TRAIN_CONFIG, type TrainConfig } from './train/config.js';
export { DEFAULT_MODEL_CONFIG, type ModelConfig } from './model/config.js';
export { VoiceActivityDetector, detectSegments, DEFAULT_VAD_OPTIONS, type VadOptions, type VadSegment } from './vad/index.js';
export { Dictation, type DictationEvent } from './listen/index.js';
export { transcribeLong, type Segment, type LongTranscription } from './long-audio.js';
export { CharNgramLm } from './lm/char-ngram.js';
export { WordNgramLm, type WordLmEvaluation } from './lm/word-ngram.js';
