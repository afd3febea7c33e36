/**
 * The library API: load a model directory once, then transcribe files or samples.
 *
 *   const t = await Transcriber.load();            // models/default
 *   const r = await t.transcribe('speech.wav');     // { text, confidence, duration, rtf, ... }
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadAudio, type DecodedAudio } from './audio/index.js';
import { initBackend, type BackendInfo } from './backend.js';
import { beamDecode } from './decode/beam.js';
import { ctcGreedyDecode } from './decode/ctc-greedy.js';
import { greedyDecode } from './decode/greedy.js';
import { speechStretches, wordTimes, type WordTime } from './decode/word-times.js';
import { hotwordScorer, lmScorer, wordLmScorer, type BeamScorer } from './decode/scorers.js';
import { CharNgramLm } from './lm/char-ngram.js';
import { WordNgramLm } from './lm/word-ngram.js';
import { DEFAULT_DECODE_OPTIONS, type DecodeOptions, type DecoderKind, type Hypothesis } from './decode/hypothesis.js';
import { extractFeatures, normalize, type FeatureMatrix } from './features/index.js';
import { loadModel, ModelLoadError, type LoadedModel } from './io/model-dir.js';
import { definedOnly } from './util/defined.js';
import { packageRoot } from './util/package-root.js';

export const SAMPLE_RATE = 16000;

export function defaultModelDir(): string {
  return path.join(packageRoot(), 'models', 'default');
}

export interface Transcription {
  text: string;
  confidence: number;
  /** Audio duration in seconds. */
  duration: number;
  /** Processing time divided by audio duration (features + decoding). */
  rtf: number;
  /** Best first; more than one with `nbest`. */
  hypotheses: Hypothesis[];
  /** Feature frames (10 ms each). */
  frames: number;
  /** Word start/end times (seconds) from the attention alignment refined with the audio's energy, with confidences. */
  words: WordTime[];
  /** The normalized features that were decoded (for plots). */
  features: FeatureMatrix;
}

export interface LoadOptions {
  /** tfjs backend: 'auto' (default), 'tensorflow', 'wasm' or 'cpu'. */
  backend?: string;
  /** Character LM file; default: the model directory's lm.bin if present; false: none. */
  lm?: string | false;
  /** Word LM file; default: the model directory's word-lm.bin if present; false: none. */
  wordLm?: string | false;
}

/** Name of the optional character language model inside a model directory. */
export const LM_FILE = 'lm.bin';
/** Name of the optional word language model inside a model directory. */
export const WORD_LM_FILE = 'word-lm.bin';

/**
 * The language-model file to load: `given` (which must exist), else the model directory's `name`
 * if it is there; false: none.
 */
function lmFileToLoad(dir: string, name: string, given: string | false | undefined): string | undefined {
  if (given === false) return undefined;
  const file = given ?? path.join(dir, name);
  if (existsSync(file)) return file;
  if (given !== undefined) throw new Error(`language model ${given} not found`);
  return undefined;
}

export class Transcriber {
  private lm: CharNgramLm | undefined;
  private wordLm: WordNgramLm | undefined;

  private constructor(
    readonly loaded: LoadedModel,
    readonly dir: string,
    readonly backend: BackendInfo,
  ) {}

  static async load(dir: string = defaultModelDir(), opts: LoadOptions = {}): Promise<Transcriber> {
    const backend = await initBackend(opts.backend);
    if (!existsSync(path.join(dir, 'model.json'))) {
      const isDefault = path.resolve(dir) === path.resolve(defaultModelDir());
      throw new ModelLoadError(
        isDefault
          ? `no default model is installed (${dir} has no model.json); train one with \`koe train\` and pass it with --model DIR`
          : `${dir} is not a koe model directory (no model.json)`,
      );
    }
    const t = new Transcriber(await loadModel(dir), dir, backend);
    // A model directory may ship a character and a word LM trained on its training text.
    try {
      const lmFile = lmFileToLoad(dir, LM_FILE, opts.lm);
      if (lmFile) t.lm = await CharNgramLm.load(lmFile);
      const wordLmFile = lmFileToLoad(dir, WORD_LM_FILE, opts.wordLm);
      if (wordLmFile) t.wordLm = await WordNgramLm.load(wordLmFile);
    } catch (err) {
      t.dispose();
      throw err;
    }
    return t;
  }

  /** Normalized features of 16 kHz mono samples, as the model expects them. */
  features(samples16k: Float32Array): FeatureMatrix {
    return normalize(extractFeatures(samples16k, this.loaded.features), this.loaded.normalization);
  }

  /**
   * The decoding options in effect for `options`: the global defaults, overridden by the
   * model's recommended settings (model.json `decoding`), overridden by `options` (keys set to
   * undefined count as not given).
   */
  resolveDecodeOptions(options: Partial<DecodeOptions> = {}): DecodeOptions {
    return { ...DEFAULT_DECODE_OPTIONS, ...this.loaded.decoding, ...definedOnly(options) };
  }

  /**
   * Decode normalized features with {@link resolveDecodeOptions}: greedy when beam is 1 and
   * nothing rescores; else beam search with the language models (each when loaded and its
   * weight > 0) and hot words; best-path CTC with the `ctc` decoder.
   */
  decode(features: FeatureMatrix, options: Partial<DecodeOptions> = {}): Hypothesis[] {
    const opts = this.resolveDecodeOptions(options);
    const { model, vocab } = this.loaded;
    if (opts.decoder === 'ctc') return this.decodeBatch([features], 'ctc');
    const scorers: BeamScorer[] = [];
    if (this.lm && opts.lmWeight > 0 && opts.beam > 1) scorers.push(lmScorer(this.lm, vocab, opts.lmWeight, opts.lengthBonus) as BeamScorer);
    if (this.wordLm && opts.wordLmWeight > 0 && opts.beam > 1) {
      scorers.push(wordLmScorer(this.wordLm, vocab, opts.wordLmWeight, opts.oovPenalty, opts.wordBonus) as BeamScorer);
    }
    if (opts.hotwords.length > 0) scorers.push(hotwordScorer(opts.hotwords, vocab, opts.hotwordBoost) as BeamScorer);
    if (opts.beam <= 1 && scorers.length === 0) return greedyDecode(model, vocab, [features], opts);
    return beamDecode(model, vocab, features, opts, scorers);
  }

  /** Use a character language model in beam search (undefined: none). */
  setLanguageModel(lm: CharNgramLm | undefined): void {
    this.lm = lm;
  }

  get languageModel(): CharNgramLm | undefined {
    return this.lm;
  }

  /** Use a word language model in beam search (undefined: none). */
  setWordLanguageModel(lm: WordNgramLm | undefined): void {
    this.wordLm = lm;
  }

  get wordLanguageModel(): WordNgramLm | undefined {
    return this.wordLm;
  }

  /**
   * Greedy decoding of several utterances at once (faster than one by one); `ctc`: best path of
   * the CTC head. Default: the resolved decoder (the model's recommended one, else attention).
   */
  decodeBatch(features: FeatureMatrix[], decoder: DecoderKind = this.resolveDecodeOptions().decoder): Hypothesis[] {
    const { model, vocab } = this.loaded;
    if (decoder === 'ctc') {
      if (model.config.ctcLayer === undefined) throw new Error(`the model in ${this.dir} has no CTC head: use the attention decoder`);
      return ctcGreedyDecode(model, vocab, features);
    }
    return greedyDecode(model, vocab, features);
  }

  /** Transcribe a WAV file path, decoded audio, or 16 kHz mono samples. */
  async transcribe(input: string | DecodedAudio | Float32Array, options: Partial<DecodeOptions> = {}): Promise<Transcription> {
    const samples = input instanceof Float32Array ? input : await loadAudio(input, SAMPLE_RATE);
    const started = performance.now();
    const feats = this.features(samples);
    const hypotheses = this.decode(feats, { keepAlignments: true, ...definedOnly(options) });
    const elapsed = (performance.now() - started) / 1000;
    const duration = samples.length / SAMPLE_RATE;
    const best = hypotheses[0] as Hypothesis;
    // Attention-derived word times, refined with where the audio's energy says speech starts and stops.
    const words = best.alignments.length === best.text.length ? wordTimes(best, this.encoderStepSeconds, duration, speechStretches(samples, SAMPLE_RATE)) : [];
    return { text: best.text, confidence: best.confidence, duration, rtf: duration > 0 ? elapsed / duration : 0, hypotheses, frames: feats.frames, words, features: feats };
  }

  /** Seconds of audio per encoder step (feature hop x time reduction). */
  get encoderStepSeconds(): number {
    return (this.loaded.features.hopMs / 1000) * this.loaded.model.config.timeReduction;
  }

  dispose(): void {
    this.loaded.model.dispose();
  }
}
