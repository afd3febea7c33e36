/**
 * A model directory: `model.json` (architecture, vocabulary, feature settings, feature
 * normalization statistics, how it was trained, and a tfjs weights manifest) plus one
 * weights file. Everything needed to run the model, loadable without tfjs-node.
 */
import * as tf from '@tensorflow/tfjs';
import type { DecodeOptions } from '../decode/hypothesis.js';
import { validateFeatureConfig, type FeatureConfig, type NormStats } from '../features/index.js';
import { validateModelConfig, type ModelConfig } from '../model/config.js';
import { ModelParams } from '../model/params.js';
import { Seq2Seq } from '../model/seq2seq.js';
import { Vocabulary } from '../model/vocab.js';
import { BundleError, readTensorBundle, writeTensorBundle } from './tensor-bundle.js';

export const MODEL_FORMAT = 'koe-model';
/** Bump when a saved model can no longer be read the old way. */
export const MODEL_FORMAT_VERSION = 1;

export interface LoadedModel {
  model: Seq2Seq;
  vocab: Vocabulary;
  features: FeatureConfig;
  normalization: NormStats;
  /** Free-form record of how the model was trained (data, steps, time, metrics). */
  training: Record<string, unknown>;
  /** Decoding settings measured for this model, used unless the caller overrides them. */
  decoding?: RecommendedDecoding;
}

export class ModelLoadError extends Error {}

/** The decoding settings a model directory may recommend (model.json `decoding`). */
export const RECOMMENDED_DECODING_KEYS = ['decoder', 'beam', 'lengthPenalty', 'lmWeight', 'lengthBonus', 'ctcWeight', 'wordLmWeight', 'oovPenalty', 'wordBonus'] as const;
export type RecommendedDecoding = Partial<Pick<DecodeOptions, (typeof RECOMMENDED_DECODING_KEYS)[number]>>;

/**
 * Check a model's recommended decoding settings (model.json `decoding`) against the allowed
 * keys and values and the model's architecture (`decoder: 'ctc'` needs a CTC head). Returns
 * them typed; throws an Error naming the offending key, e.g. "decoding.beam must be a positive
 * integer (got 0)".
 */
export function validateDecoding(value: unknown, config: Pick<ModelConfig, 'ctcLayer'>): RecommendedDecoding {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`decoding must be an object (got ${JSON.stringify(value)})`);
  const got = (v: unknown): string => `(got ${JSON.stringify(v) ?? String(v)})`;
  const out: RecommendedDecoding = {};
  for (const [key, v] of Object.entries(value)) {
    switch (key) {
      case 'decoder':
        if (v !== 'attention' && v !== 'ctc') throw new Error(`decoding.decoder must be "attention" or "ctc" ${got(v)}`);
        if (v === 'ctc' && config.ctcLayer === undefined) throw new Error('decoding.decoder is "ctc" but the model has no CTC head');
        out.decoder = v;
        break;
      case 'beam':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`decoding.beam must be a positive integer ${got(v)}`);
        out.beam = v;
        break;
      case 'lengthPenalty':
      case 'lmWeight':
      case 'lengthBonus':
      case 'ctcWeight':
      case 'wordLmWeight':
      case 'oovPenalty':
      case 'wordBonus':
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`decoding.${key} must be a finite number >= 0 ${got(v)}`);
        out[key] = v;
        break;
      default:
        throw new Error(`decoding.${key} is not a decoding setting (allowed: ${RECOMMENDED_DECODING_KEYS.join(', ')})`);
    }
  }
  return out;
}

export async function saveModel(dir: string, m: LoadedModel): Promise<void> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, v] of m.model.params.vars) tensors[name] = v;
  await writeTensorBundle(
    dir,
    'model',
    {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      config: m.model.config,
      vocabulary: m.vocab.symbols,
      features: m.features,
      normalization: m.normalization,
      training: m.training,
      ...(m.decoding ? { decoding: m.decoding } : {}),
    },
    tensors,
  );
}

/** Why this koe cannot read a model.json document (another format, another version), or undefined. */
export function modelFormatProblem(doc: Record<string, unknown>): string | undefined {
  if (doc.format !== MODEL_FORMAT) return `not a koe model (format is ${JSON.stringify(doc.format)})`;
  if (doc.formatVersion !== MODEL_FORMAT_VERSION) {
    return `model format version ${String(doc.formatVersion)} is not supported by this koe (it reads version ${MODEL_FORMAT_VERSION}); use a matching koe version or retrain`;
  }
  return undefined;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  let bundle;
  try {
    bundle = await readTensorBundle(dir, 'model');
  } catch (err) {
    if (err instanceof BundleError) throw new ModelLoadError(`cannot load model from ${dir}: ${err.message}`);
    throw err;
  }
  const doc = bundle.document;
  const fail = (why: string): never => {
    tf.dispose(Object.values(bundle.tensors));
    throw new ModelLoadError(`cannot load model from ${dir}: ${why}`);
  };
  const problem = modelFormatProblem(doc);
  if (problem) fail(problem);
  const config = doc.config as ModelConfig;
  const features = doc.features as FeatureConfig;
  const normalization = doc.normalization as NormStats;
  let vocab: Vocabulary;
  let params: ModelParams;
  let decoding: RecommendedDecoding | undefined;
  try {
    validateModelConfig(config);
    if (doc.decoding !== undefined) decoding = validateDecoding(doc.decoding, config);
    validateFeatureConfig(features);
    vocab = new Vocabulary(doc.vocabulary as string[]);
    if (vocab.size !== config.vocabSize) throw new Error(`vocabulary has ${vocab.size} symbols, config says ${config.vocabSize}`);
    if (!Array.isArray(normalization?.mean) || normalization.mean.length !== config.inputDim || normalization.std?.length !== config.inputDim) {
      throw new Error('normalization statistics do not match the input dimension');
    }
    params = ModelParams.fromTensors(config, bundle.tensors);
  } catch (err) {
    return fail((err as Error).message);
  }
  tf.dispose(Object.values(bundle.tensors)); // the model's variables hold their own references
  return {
    model: new Seq2Seq(config, params),
    vocab,
    features,
    normalization,
    training: (doc.training as Record<string, unknown>) ?? {},
    ...(decoding ? { decoding } : {}),
  };
}
