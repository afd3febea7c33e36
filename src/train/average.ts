/**
 * Weight averaging of model snapshots, e.g. the last epochs of one run (`keepEpochModels`), as
 * ESPnet does with its best snapshots: the mean of nearby points late in training usually
 * decodes better than any one of them. Only snapshots of one run can be averaged: same
 * architecture, vocabulary, feature settings and normalization statistics.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { sameFeatures } from '../features/index.js';
import { loadModel, type LoadedModel } from '../io/model-dir.js';
import { ModelParams } from '../model/params.js';
import { Seq2Seq } from '../model/seq2seq.js';

export class AverageError extends Error {}

/** Why model `b` cannot be averaged with model `a`, or undefined. */
function mismatch(a: LoadedModel, b: LoadedModel): string | undefined {
  if (JSON.stringify(a.model.config) !== JSON.stringify(b.model.config)) return 'the architectures differ';
  if (a.vocab.symbols.join('\u0000') !== b.vocab.symbols.join('\u0000')) return 'the vocabularies differ';
  if (!sameFeatures(a.features, b.features)) return 'the feature settings differ';
  const sameStats = (x: number[], y: number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  if (!sameStats(a.normalization.mean, b.normalization.mean) || !sameStats(a.normalization.std, b.normalization.std)) {
    return 'the feature normalization statistics differ (snapshots of different runs?)';
  }
  return undefined;
}

/**
 * The element-wise mean of the weights of the models in `dirs` (at least two). Everything else
 * (features, normalization, decoding settings, training record) is the last model's; the
 * training record gains `averagedFrom`, the models' absolute paths, and loses the validation
 * scores (null: measure the average with `koe eval`). The caller owns the model.
 */
export async function averageModels(dirs: readonly string[]): Promise<LoadedModel> {
  if (dirs.length < 2) throw new AverageError(`averaging needs at least two models (got ${dirs.length})`);
  const models: LoadedModel[] = [];
  try {
    for (const dir of dirs) {
      const m = await loadModel(dir);
      models.push(m);
      const why = mismatch(models[0] as LoadedModel, m);
      if (why) throw new AverageError(`cannot average ${dir} with ${dirs[0]}: ${why}`);
    }
    const last = models[models.length - 1] as LoadedModel;
    const mean: Record<string, tf.Tensor> = tf.tidy(() => {
      const out: Record<string, tf.Tensor> = {};
      for (const name of last.model.params.vars.keys()) {
        const sum = tf.addN(models.map((m) => m.model.params.vars.get(name) as tf.Variable));
        out[name] = tf.div(sum, models.length);
      }
      return out;
    });
    const params = ModelParams.fromTensors(last.model.config, mean);
    tf.dispose(Object.values(mean)); // the variables hold their own references
    return {
      model: new Seq2Seq(last.model.config, params),
      vocab: last.vocab,
      features: last.features,
      normalization: last.normalization,
      // The snapshots' validation scores do not describe their mean.
      training: { ...last.training, validCer: null, validWer: null, averagedFrom: dirs.map((d) => path.resolve(d)) },
      ...(last.decoding ? { decoding: last.decoding } : {}),
    };
  } finally {
    for (const m of models) m.model.dispose();
  }
}
