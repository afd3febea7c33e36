import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_MODEL_CONFIG } from '../../model/config.js';
import { DEFAULT_TEACHER_FORCING } from '../../model/teacher-forcing.js';
import { DEFAULT_TRAIN_CONFIG, loadTrainConfig, type TrainConfig } from '../../train/config.js';
import { train, TrainingDivergedError, TrainingInterruptedError } from '../../train/trainer.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, fail, positiveInt, startBackend } from '../common.js';

interface TrainCliOptions {
  train: string;
  valid?: string;
  out: string;
  config?: string;
  resume?: boolean;
  initFrom?: string;
  epochs?: number;
  maxSteps?: number;
  seed?: number;
  quiet?: boolean;
  workers: number;
}

const d = DEFAULT_TRAIN_CONFIG;
const defaultsHelp = `
Training config (--config FILE, JSON; every field optional). Defaults:
  model: ${DEFAULT_MODEL_CONFIG.encoderLayers}-layer pyramidal BiLSTM, ${DEFAULT_MODEL_CONFIG.encoderUnits} units/direction, time /${DEFAULT_MODEL_CONFIG.timeReduction},
         ${DEFAULT_MODEL_CONFIG.attention} attention (${DEFAULT_MODEL_CONFIG.attentionDim}), ${DEFAULT_MODEL_CONFIG.decoderUnits}-unit decoder
  teacherForcing: ${JSON.stringify(DEFAULT_TEACHER_FORCING)}
      kinds: constant {value}, linear {slope}, exponential {decay}, inverse-sigmoid {k}; all with {min}
  learningRate: ${JSON.stringify(d.learningRate)}
  clipNorm ${d.clipNorm}, labelSmoothing ${d.labelSmoothing}, maxBatchFrames ${d.maxBatchFrames}, maxBatchUtterances ${d.maxBatchUtterances},
  epochs ${d.epochs}, seed ${d.seed}, checkpointEvery ${d.checkpointEvery} steps, sortFirstEpoch ${d.sortFirstEpoch},
  maxValidUtterances ${d.maxValidUtterances}, maxDuration ${d.maxDuration} s, keepEpochModels ${d.keepEpochModels},
  augment: ${JSON.stringify(d.augment)} (e.g. {"speeds":[0.9,1,1.1],"specAugment":{}})

Writes to --out: model.json + weights (best validation CER so far; a model directory for --model),
checkpoint.json + weights (resume state, written atomically), train-log.jsonl (one line per step);
with keepEpochModels N, also epochs/epoch-<N>/ (the model at the end of each of the last N epochs, for koe average).
Ctrl-C stops after the current step and saves a checkpoint.

Fine-tuning (--init-from): the model's architecture replaces config.model; its normalization
statistics are kept when the config's features equal the model's, else computed from --train.
The schedules (learning rate, teacher forcing) start at step 0: a lower learningRate.peak and a
constant teacherForcing suit a model that is already trained.

Examples:
  koe train --train data/corpus/train.jsonl --valid data/corpus/valid.jsonl --out runs/my-model
  koe train --train my-data.jsonl --valid my-valid.jsonl --out runs/tuned --init-from models/default --config tune.json
    (tune.json: {"ctcWeight":0.3,"learningRate":{"peak":0.0003,"warmupSteps":100},"teacherForcing":{"kind":"constant","value":0.8}};
     ctcWeight keeps training the CTC head of a model that has one, as models/default does)`;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on manifests (NeMo JSON lines)')
    .requiredOption('--train <manifest>', 'training manifest')
    .option('--valid <manifest>', 'validation manifest (loss, CER and WER after each epoch)')
    .requiredOption('--out <dir>', 'output directory (model, checkpoints, log)')
    .option('--config <file>', 'training config JSON (see below)')
    .option('--resume', 'continue from the checkpoint in --out (its config is used)')
    .option('--init-from <model>', 'fine-tune: start from this model directory\'s weights and architecture (e.g. models/default), with a fresh optimizer')
    .option('--epochs <n>', 'override the number of epochs', positiveInt('--epochs'))
    .option('--max-steps <n>', 'stop after this many optimizer steps in all', positiveInt('--max-steps'))
    .option('--seed <n>', 'override the random seed', positiveInt('--seed'))
    .option('-w, --workers <n>', 'gradient workers (threads), each using one core', positiveInt('--workers'), availableParallelism())
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', defaultsHelp)
    .action(async (opts: TrainCliOptions, cmd: Command) => {
      const backend = await startBackend(cmd);
      let config = await loadTrainConfig(opts.config).catch((err: Error) => fail(err.message));
      if (opts.seed !== undefined) config = { ...config, seed: opts.seed };
      const overrides: Partial<Pick<TrainConfig, 'epochs' | 'maxSteps'>> = {};
      if (opts.epochs !== undefined) overrides.epochs = opts.epochs;
      if (opts.maxSteps !== undefined) overrides.maxSteps = opts.maxSteps;
      if (!opts.quiet) process.stderr.write(`koe train: backend ${backend.name}\n`);
      if (opts.workers > 1 && !process.execArgv.includes('--single-threaded-gc') && !opts.quiet) {
        // (bin/koe.js sets it: its garbage-collector threads would compete with the training workers.)
        process.stderr.write('koe train: node runs without --single-threaded-gc; data-parallel training is ~10-20% slower\n');
      }
      const controller = new AbortController();
      const onSignal = (): void => {
        if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
        process.stderr.write('\nkoe train: stopping after this step (Ctrl-C again to quit without saving)\n');
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const result = await train({
          trainManifest: opts.train,
          validManifest: opts.valid,
          outDir: opts.out,
          config,
          overrides,
          resume: opts.resume === true,
          ...(opts.initFrom !== undefined ? { initFrom: opts.initFrom } : {}),
          workers: opts.workers,
          quiet: opts.quiet,
          signal: controller.signal,
        });
        if (result.interrupted) process.exitCode = EXIT_INTERRUPTED;
      } catch (err) {
        if (err instanceof TrainingInterruptedError) {
          process.stderr.write(`\nkoe train: ${err.message}\n`);
          process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        if (err instanceof TrainingDivergedError) {
          process.stderr.write(`koe train: ${err.message}\n`);
          process.exitCode = EXIT_FAILURE;
          return;
        }
        fail((err as Error).message);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
