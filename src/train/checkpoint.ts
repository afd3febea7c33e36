/**
 * Resumable training state: weights, Adam moments and step, the training config, the
 * feature normalization and where in the data the run stands. Written atomically (see
 * io/tensor-bundle.ts), so a crash or kill mid-write leaves the previous checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import type { NormStats } from '../features/index.js';
import { bundleExists, readTensorBundle, writeTensorBundle } from '../io/tensor-bundle.js';
import type { TrainConfig } from './config.js';

export const CHECKPOINT_FORMAT = 'koe-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  validLoss?: number;
  validCer?: number;
  validWer?: number;
  /** Greedy CER of the CTC head alone (models with one). */
  validCtcCer?: number;
  teacherForcing: number;
  learningRate: number;
  seconds: number;
}

export interface StepRecord {
  step: number;
  loss: number;
  teacherForcing: number;
  learningRate: number;
  gradNorm: number;
}

export interface TrainProgress {
  /** Optimizer steps taken. */
  step: number;
  /** Epoch in progress (0-based) and how many of its batches are done. */
  epoch: number;
  batchInEpoch: number;
  /** Sum and count of the training losses so far in the epoch in progress (absent in older checkpoints). */
  epochLossSum?: number;
  epochLossCount?: number;
  /** Wall-clock seconds spent training so far, over all sessions. */
  seconds: number;
  utterancesSeen: number;
  bestValidCer: number | null;
  epochs: EpochRecord[];
}

export interface Checkpoint {
  config: TrainConfig;
  normalization: NormStats;
  progress: TrainProgress;
  adamStep: number;
  params: Record<string, tf.Tensor>;
  adam: Record<string, tf.Tensor>;
  /** Where the data came from (for the model card). */
  data: Record<string, unknown>;
}

export async function writeCheckpoint(dir: string, ck: Checkpoint): Promise<void> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(ck.params)) tensors[`param/${k}`] = t;
  for (const [k, t] of Object.entries(ck.adam)) tensors[`adam/${k}`] = t;
  await writeTensorBundle(
    dir,
    'checkpoint',
    {
      format: CHECKPOINT_FORMAT,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      config: ck.config,
      normalization: ck.normalization,
      progress: ck.progress,
      adamStep: ck.adamStep,
      data: ck.data,
    },
    tensors,
  );
}

export function checkpointExists(dir: string): Promise<boolean> {
  return bundleExists(dir, 'checkpoint');
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const { document: doc, tensors } = await readTensorBundle(dir, 'checkpoint');
  if (doc.format !== CHECKPOINT_FORMAT || doc.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new Error(`${dir}/checkpoint.json is not a koe checkpoint of format version ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const params: Record<string, tf.Tensor> = {};
  const adam: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('param/')) params[k.slice(6)] = t;
    else if (k.startsWith('adam/')) adam[k.slice(5)] = t;
  }
  return {
    config: doc.config as TrainConfig,
    normalization: doc.normalization as NormStats,
    progress: doc.progress as TrainProgress,
    adamStep: doc.adamStep as number,
    params,
    adam,
    data: (doc.data as Record<string, unknown>) ?? {},
  };
}
