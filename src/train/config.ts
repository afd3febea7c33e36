/**
 * Everything `koe train` can be told in a --config JSON file. Unset fields take the
 * defaults below, which are also what `koe train --help` documents.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_FEATURE_CONFIG, type FeatureConfig, type SpecAugmentConfig } from '../features/index.js';
import { DEFAULT_MODEL_CONFIG, validateModelConfig, type ModelConfig } from '../model/config.js';
import { DEFAULT_TEACHER_FORCING, validateTeacherForcing, type TeacherForcingSchedule } from '../model/teacher-forcing.js';

export interface LearningRateSchedule {
  /** Peak learning rate. */
  peak: number;
  /** Linear warm-up from 0 over this many steps. */
  warmupSteps: number;
  /** After warm-up: multiply by `decayRate` every `decaySteps` steps (smoothly), down to `floor`. */
  decayRate: number;
  decaySteps: number;
  floor: number;
}

export interface AugmentConfig {
  /** Speed-perturbation factors drawn per utterance and epoch (e.g. [0.9, 1, 1.1]); empty = off. */
  speeds: number[];
  /** SpecAugment time/frequency masks on the normalized features; null = off. */
  specAugment: SpecAugmentConfig | null;
}

export interface TrainConfig {
  model: ModelConfig;
  features: FeatureConfig;
  teacherForcing: TeacherForcingSchedule;
  learningRate: LearningRateSchedule;
  /** Global gradient-norm clipping threshold (0 = off). */
  clipNorm: number;
  labelSmoothing: number;
  /**
   * Joint CTC-attention training (Kim, Hori & Watanabe 2017): weight of the CTC loss on the
   * encoder layer `model.ctcLayer`; the attention loss gets 1 - ctcWeight. 0 = attention only.
   */
  ctcWeight: number;
  /** A batch holds at most this many padded frames (batch size x longest utterance)... */
  maxBatchFrames: number;
  /** ...and at most this many utterances. */
  maxBatchUtterances: number;
  epochs: number;
  /** Stop after this many optimizer steps (0 = no limit). */
  maxSteps: number;
  seed: number;
  /** Write a resumable checkpoint every this many steps (and at each epoch end). */
  checkpointEvery: number;
  /** First epoch in order of increasing length (curriculum), later ones shuffled. */
  sortFirstEpoch: boolean;
  /** Validate on at most this many utterances (0 = all). */
  maxValidUtterances: number;
  augment: AugmentConfig;
  /** Training utterances longer than this many seconds are skipped (memory is bounded by batch frames). */
  maxDuration: number;
  /**
   * Also save the model at the end of each epoch in `<out>/epochs/epoch-<N>/`, keeping the last
   * this many (0 = off): snapshots for `koe average`.
   */
  keepEpochModels: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: DEFAULT_MODEL_CONFIG,
  features: DEFAULT_FEATURE_CONFIG,
  teacherForcing: DEFAULT_TEACHER_FORCING,
  learningRate: { peak: 1e-3, warmupSteps: 200, decayRate: 0.5, decaySteps: 20000, floor: 1e-5 },
  clipNorm: 5,
  labelSmoothing: 0.1,
  ctcWeight: 0,
  maxBatchFrames: 16 * 300,
  maxBatchUtterances: 32,
  epochs: 20,
  maxSteps: 0,
  seed: 1,
  checkpointEvery: 200,
  sortFirstEpoch: true,
  maxValidUtterances: 500,
  augment: { speeds: [], specAugment: null },
  maxDuration: 20,
  keepEpochModels: 0,
};

export const DEFAULT_SPEC_AUGMENT: SpecAugmentConfig = {
  freqMasks: 2,
  freqMaskWidth: 4,
  timeMasks: 2,
  timeMaskWidth: 20,
  maxTimeMaskFraction: 0.1,
  featureGroups: 3,
};

export function learningRateAt(s: LearningRateSchedule, step: number): number {
  const warm = s.warmupSteps > 0 ? Math.min(1, (step + 1) / s.warmupSteps) : 1;
  const decay = Math.pow(s.decayRate, Math.max(0, step - s.warmupSteps) / Math.max(1, s.decaySteps));
  return Math.max(s.floor, s.peak * warm * decay);
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type TrainConfigInput = DeepPartial<TrainConfig>;

function merge<T extends object>(base: T, over: DeepPartial<T> | undefined): T {
  if (!over) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    const b = (base as Record<string, unknown>)[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? merge(b as object, v as object) : v;
  }
  return out as T;
}

export function resolveTrainConfig(input: TrainConfigInput = {}): TrainConfig {
  const known = new Set(Object.keys(DEFAULT_TRAIN_CONFIG));
  for (const key of Object.keys(input)) if (!known.has(key)) throw new Error(`unknown training config field "${key}"`);
  const cfg = merge(DEFAULT_TRAIN_CONFIG, input);
  if (input.augment?.specAugment) cfg.augment.specAugment = { ...DEFAULT_SPEC_AUGMENT, ...input.augment.specAugment };
  validateModelConfig(cfg.model);
  validateTeacherForcing(cfg.teacherForcing);
  if (cfg.model.inputDim !== (cfg.features.useDeltas ? 3 : 1) * cfg.features.numCeps) {
    throw new Error(`model.inputDim ${cfg.model.inputDim} does not match the features (${cfg.features.numCeps} cepstra${cfg.features.useDeltas ? ' with deltas' : ''})`);
  }
  for (const [k, v] of Object.entries({ maxBatchFrames: cfg.maxBatchFrames, maxBatchUtterances: cfg.maxBatchUtterances, epochs: cfg.epochs, checkpointEvery: cfg.checkpointEvery })) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${k} must be a positive integer (got ${v})`);
  }
  if (!Number.isInteger(cfg.keepEpochModels) || cfg.keepEpochModels < 0) throw new Error(`keepEpochModels must be a non-negative integer (got ${cfg.keepEpochModels})`);
  if (!(cfg.learningRate.peak > 0)) throw new Error('learningRate.peak must be positive');
  if (!(cfg.learningRate.decayRate > 0 && cfg.learningRate.decayRate <= 1)) throw new Error('learningRate.decayRate must be in (0, 1]');
  if (!(cfg.ctcWeight >= 0 && cfg.ctcWeight < 1)) throw new Error(`ctcWeight must lie in [0, 1) (got ${cfg.ctcWeight})`);
  if (cfg.augment.speeds.some((s) => !(s >= 0.5 && s <= 2))) throw new Error('augment.speeds must lie in [0.5, 2]');
  return cfg;
}

/** A CTC loss needs a CTC head: checked on the model that trains (a fine-tuned model brings its own). */
export function checkCtcHead(cfg: TrainConfig): void {
  if (cfg.ctcWeight > 0 && cfg.model.ctcLayer === undefined) throw new Error(`ctcWeight ${cfg.ctcWeight} needs a CTC head: set model.ctcLayer`);
}

export async function loadTrainConfig(file: string | undefined): Promise<TrainConfig> {
  if (!file) return resolveTrainConfig();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read training config ${file}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`training config ${file} must be a JSON object`);
  try {
    return resolveTrainConfig(parsed as TrainConfigInput);
  } catch (err) {
    throw new Error(`training config ${file}: ${(err as Error).message}`);
  }
}
