/** Messages between the trainer and its gradient workers (worker_threads). */
import type { Frames } from '../../model/batch.js';
import type { ModelConfig } from '../../model/config.js';
import type { StepLossOptions } from '../../model/seq2seq.js';

export interface ShardJob {
  frames: Frames[];
  targets: number[][];
  samplingSeeds: number[];
}

export type ToWorker =
  | { type: 'init'; config: ModelConfig; backend: string }
  | {
      type: 'grad';
      id: number;
      /** Current weights by parameter name (every step, so workers never drift). */
      weights: Record<string, Float32Array>;
      job: ShardJob;
      options: StepLossOptions;
    }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'grad'; id: number; loss: number; ctcLoss?: number; tokens: number; sampledInputs: number; grads: Record<string, Float32Array>; bytes: number }
  | { type: 'error'; id?: number; message: string };
