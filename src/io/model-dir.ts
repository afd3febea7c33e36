/**
 * A model directory: `model.json` (architecture, vocabulary, feature settings, feature
 * normalization statistics, how it was trained, and a tfjs weights manifest) plus one
 * weights file. Everything needed to run the model, loadable without tfjs-node.
 */
import * as tf from '@tensorflow/tfjs';
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
}

export class ModelLoadError extends Error {}

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
    },
    tensors,
  );
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
  if (doc.format !== MODEL_FORMAT) fail(`not a koe model (format is ${JSON.stringify(doc.format)})`);
  if (doc.formatVersion !== MODEL_FORMAT_VERSION) {
    fail(`model format version ${String(doc.formatVersion)} is not supported by this koe (it reads version ${MODEL_FORMAT_VERSION}); use a matching koe version or retrain`);
  }
  const config = doc.config as ModelConfig;
  const features = doc.features as FeatureConfig;
  const normalization = doc.normalization as NormStats;
  let vocab: Vocabulary;
  let params: ModelParams;
  try {
    validateModelConfig(config);
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
  return { model: new Seq2Seq(config, params), vocab, features, normalization, training: (doc.training as Record<string, unknown>) ?? {} };
}
