/** Messages between the trainer's thread and its gradient workers (worker_threads). */
import type { Frames } from '../../model/batch.js';
import type { ModelConfig } from '../../model/config.js';
import type { StepLossOptions } from '../../model/seq2seq.js';
import type { AdamSettings } from '../adam.js';
import type { ParamLayout, ShardSummary } from './exchange.js';

export interface ShardJob {
  frames: Frames[];
  targets: number[][];
  samplingSeeds: number[];
}

/** A replica's model and optimizer state (weights and Adam moments by name). */
export interface ReplicaState {
  weights: Record<string, Float32Array>;
  adamStep: number;
  adam: Record<string, Float32Array>;
}

/** Milliseconds a worker spent on the parts of a step. */
export interface WorkerTimings {
  /** Weight checksum (0 when not checked this step). */
  check: number;
  /** Loss and gradients of its shard. */
  compute: number;
  /** Copying them into its shared slot. */
  write: number;
  /** Its previous step's sum over all slots, and clipping + Adam (0 when there was none). */
  reduce: number;
  apply: number;
}

export type ToWorker =
  | {
      type: 'init';
      config: ModelConfig;
      backend: string;
      /** This worker's slot (0 is the trainer's thread) and the number of replicas. */
      slot: number;
      replicas: number;
      layout: ParamLayout;
      buffers: SharedArrayBuffer[];
      /** The trainer's model and optimizer, copied once at start (then kept equal by identical updates). */
      state: ReplicaState;
      adamSettings: AdamSettings;
    }
  | { type: 'grad'; id: number; parity: number; job: ShardJob; options: StepLossOptions; check: boolean }
  /** All shards are in: sum the slots of set `parity`, and hold the result for 'apply'. */
  | { type: 'reduce'; parity: number; shards: (ShardSummary | null)[] }
  /** Clip and apply the held gradients with Adam, exactly as the trainer's thread does. */
  | { type: 'apply'; learningRate: number; clipNorm: number }
  | { type: 'state'; id: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; backend: string }
  | {
      type: 'grad';
      id: number;
      loss: number;
      tokens: number;
      sampledInputs: number;
      missing: string[];
      /** Checksum of the weights the gradients were computed at (when asked). */
      checksum?: number;
      bytes: number;
      ms: WorkerTimings;
    }
  | { type: 'state'; id: number; state: ReplicaState }
  | { type: 'error'; id?: number; message: string };
