/**
 * Set a model directory's recommended decoding settings (model.json `decoding`: decoder, beam,
 * lengthPenalty, lmWeight, lengthBonus, ctcWeight, wordLmWeight, oovPenalty, wordBonus), which
 * koe uses unless flags or library options override them:
 *   node dist/scripts/set-model-decoding.js MODEL_DIR SETTINGS.json
 * The settings are checked as loading the model checks them (allowed keys and values, and
 * `decoder: "ctc"` only for a model with a CTC head). Only model.json changes, atomically; its
 * other fields and the weights file stay as they are. `{}` removes the recommendation.
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { modelFormatProblem, validateDecoding, type RecommendedDecoding } from '../src/io/model-dir.js';
import { updateBundleDocument } from '../src/io/tensor-bundle.js';
import { validateModelConfig, type ModelConfig } from '../src/model/config.js';

/** Write `settings` (checked) as the recommended decoding of the model in `modelDir`; returns what was written. */
export async function setModelDecoding(modelDir: string, settings: unknown): Promise<RecommendedDecoding> {
  let decoding: RecommendedDecoding = {};
  try {
    await updateBundleDocument(modelDir, 'model', (doc) => {
      const problem = modelFormatProblem(doc);
      if (problem) throw new Error(problem);
      const config = doc.config as ModelConfig;
      validateModelConfig(config);
      decoding = validateDecoding(settings, config);
      const { decoding: _previous, ...rest } = doc;
      return Object.keys(decoding).length > 0 ? { ...rest, decoding } : rest;
    });
  } catch (err) {
    throw new Error(`cannot set the decoding settings of ${modelDir}: ${(err as Error).message}`);
  }
  return decoding;
}

async function main(args: string[]): Promise<number> {
  const [modelDir, settingsFile] = args;
  if (!modelDir || !settingsFile || args.length > 2) {
    console.error('usage: node dist/scripts/set-model-decoding.js MODEL_DIR SETTINGS.json');
    return 2;
  }
  try {
    let settings: unknown;
    try {
      settings = JSON.parse(await readFile(settingsFile, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read ${settingsFile}: ${(err as Error).message}`);
    }
    const decoding = await setModelDecoding(modelDir, settings);
    console.log(`${modelDir}: recommended decoding ${JSON.stringify(decoding)}`);
    return 0;
  } catch (err) {
    console.error(`set-model-decoding: ${(err as Error).message}`);
    return 1;
  }
}

const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs && import.meta.url === pathToFileURL(invokedAs).href) process.exitCode = await main(process.argv.slice(2));
