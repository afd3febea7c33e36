/**
 * Shared pieces for the trainer, model-directory, decoding and CLI tests: the committed tiny
 * fixtures, a very small architecture that trains a step in a fraction of a second, untrained
 * models and model directories built from a seed, temporary folders, and the training log.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_FEATURE_CONFIG, featureDim, type NormStats } from '../../src/features/index.js';
import { saveModel } from '../../src/io/model-dir.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config.js';
import { Seq2Seq } from '../../src/model/seq2seq.js';
import { Vocabulary } from '../../src/model/vocab.js';
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from '../../src/train/config.js';
import { train } from '../../src/train/trainer.js';
import { packageRoot } from '../../src/util/package-root.js';

/** The repository root (also when this file runs compiled from dist/). */
export const REPO_ROOT = packageRoot();
export const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'tiny');
/** Eight short utterances ("yes", "no", "hello world", ...), 0.8-1.3 s each. */
export const TINY_MANIFEST = path.join(FIXTURES, 'manifest.jsonl');
export const TINY_TRAIN_CONFIG = path.join(FIXTURES, 'train-config.json');
export const TINY_UTTERANCES = 8;

/** A deliberately small architecture (a few thousand parameters): mechanics, not accuracy. */
export const SMALL_MODEL: ModelConfig = {
  ...DEFAULT_MODEL_CONFIG,
  inputDim: featureDim(DEFAULT_FEATURE_CONFIG),
  encoderLayers: 1,
  encoderUnits: 8,
  timeReduction: 2,
  attention: 'location',
  attentionDim: 8,
  locationKernel: 3,
  decoderUnits: 12,
  outputDim: 12,
  vocabSize: new Vocabulary().size,
};

/**
 * A training config for the tiny fixtures with the small model: three batches per epoch
 * (at most three utterances each), no label smoothing, no checkpoints unless asked for.
 * `over` is merged the way a --config file is.
 */
export function smallTrainConfig(over: TrainConfigInput = {}): TrainConfig {
  return resolveTrainConfig({
    model: SMALL_MODEL,
    learningRate: { peak: 3e-3, warmupSteps: 2, decayRate: 0.5, decaySteps: 400, floor: 1e-4 },
    labelSmoothing: 0,
    maxBatchUtterances: 3,
    maxBatchFrames: 1600,
    epochs: 100,
    checkpointEvery: 1000,
    seed: 5,
    ...over,
  });
}

/**
 * Train the small model on the tiny fixtures for `steps` steps (about 0.15 s each) and leave a
 * model directory in `outDir`. A few dozen steps give a model that spells plausible characters
 * and ends most hypotheses by itself: enough to exercise decoding, not to transcribe well.
 */
export async function trainSmallModel(outDir: string, steps = 30): Promise<void> {
  const config = smallTrainConfig({ learningRate: { peak: 1e-2, warmupSteps: 2 }, epochs: Math.ceil(steps / 3) });
  await train({ trainManifest: TINY_MANIFEST, outDir, config, overrides: { maxSteps: steps }, resume: false, quiet: true });
}

/** A freshly initialized (untrained) model. */
export function untrainedModel(config: ModelConfig = SMALL_MODEL, seed = 1): Seq2Seq {
  return Seq2Seq.create(config, seed);
}

/** Normalization that leaves features unchanged (mean 0, std 1). */
export function identityNormalization(dim: number = SMALL_MODEL.inputDim): NormStats {
  return { mean: new Array<number>(dim).fill(0), std: new Array<number>(dim).fill(1) };
}

/** Save `model` as a complete model directory (default features, identity normalization). */
export async function saveModelDir(dir: string, model: Seq2Seq, training: Record<string, unknown> = { note: 'test model' }): Promise<void> {
  await saveModel(dir, {
    model,
    vocab: new Vocabulary(),
    features: { ...DEFAULT_FEATURE_CONFIG },
    normalization: identityNormalization(model.config.inputDim),
    training,
  });
}

/** Temporary folders, removed by `cleanup()` (call it in afterAll). */
export class TempDirs {
  private readonly dirs: string[] = [];

  async make(prefix = 'koe-test-'): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** One line of train-log.jsonl. */
export interface StepLogLine {
  step: number;
  loss: number;
  teacherForcing: number;
  learningRate: number;
  gradNorm: number;
  sampled: number;
}

export async function readTrainLog(dir: string): Promise<StepLogLine[]> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'train-log.jsonl'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StepLogLine);
}

/** A small model that learns a few fixture sentences by heart (listen and word-time tests). */
export function sentenceModelConfig(): TrainConfig {
  return resolveTrainConfig({
    model: { encoderLayers: 2, encoderUnits: 32, timeReduction: 4, attention: 'location', attentionDim: 32, locationKernel: 5, decoderUnits: 48, outputDim: 48 },
    teacherForcing: { kind: 'inverse-sigmoid', k: 40, min: 0.8 },
    learningRate: { peak: 0.02, warmupSteps: 10, decayRate: 0.5, decaySteps: 400, floor: 0.0001 },
    labelSmoothing: 0,
    maxBatchUtterances: 8,
    maxBatchFrames: 2000,
    epochs: 50,
    checkpointEvery: 100000,
    seed: 7,
  });
}
