/**
 * Write a model directory from a training checkpoint (the weights at the checkpoint's step,
 * whether or not validation has seen them yet):
 *   node dist/scripts/export-checkpoint.js runs/default models/default
 */
import path from 'node:path';
import { initBackend } from '../src/backend.js';
import { saveModel } from '../src/io/model-dir.js';
import { ModelParams } from '../src/model/params.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { Vocabulary } from '../src/model/vocab.js';
import { readCheckpoint } from '../src/train/checkpoint.js';

const [runDir, outDir] = process.argv.slice(2);
if (!runDir || !outDir) {
  console.error('usage: node dist/scripts/export-checkpoint.js RUN_DIR MODEL_DIR');
  process.exit(2);
}
await initBackend();
const ck = await readCheckpoint(runDir);
const model = new Seq2Seq(ck.config.model, ModelParams.fromTensors(ck.config.model, ck.params));
const last = ck.progress.epochs.at(-1);
await saveModel(outDir, {
  model,
  vocab: new Vocabulary(),
  features: ck.config.features,
  normalization: ck.normalization,
  training: {
    ...ck.data,
    exportedFrom: path.resolve(runDir),
    steps: ck.progress.step,
    epochs: ck.progress.epoch,
    epochInProgress: { epoch: ck.progress.epoch + 1, batchesDone: ck.progress.batchInEpoch },
    utterancesSeen: ck.progress.utterancesSeen,
    trainingSeconds: Math.round(ck.progress.seconds),
    validCer: last?.validCer ?? null,
    validWer: last?.validWer ?? null,
    // The last validation was at the end of an epoch, which may be many steps before the export.
    validatedAtStep: last?.step ?? null,
    teacherForcing: ck.config.teacherForcing,
    augment: ck.config.augment,
    seed: ck.config.seed,
    savedAt: new Date().toISOString(),
  },
});
console.log(`${outDir}: model at step ${ck.progress.step} (${ck.progress.utterancesSeen} utterances seen, ${(ck.progress.seconds / 3600).toFixed(2)} h of training)`);
model.dispose();
