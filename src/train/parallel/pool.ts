/**
 * Data-parallel gradients: a batch is split into shards of similar total length, each
 * worker thread computes its shard's loss and gradients with its own backend instance,
 * and the results are combined into the gradient of the whole batch's mean loss
 * (each shard weighted by its number of target characters).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Frames } from '../../model/batch.js';
import type { ModelConfig } from '../../model/config.js';
import type { ModelParams } from '../../model/params.js';
import type { StepLossOptions } from '../../model/seq2seq.js';
import { packageRoot } from '../../util/package-root.js';
import type { Gradients } from '../step.js';
import type { FromWorker, ShardJob, ToWorker } from './protocol.js';

/** The compiled worker script (workers cannot run TypeScript sources, e.g. under vitest). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'worker.js');
  const built = path.join(packageRoot(), 'dist', 'src', 'train', 'parallel', 'worker.js');
  if (!existsSync(built)) throw new Error(`parallel training needs the compiled worker ${built}: run \`npm run build\``);
  return built;
}

/** Split utterance indices into `n` shards with balanced total frames (longest first, greedy). */
export function splitShards(frames: readonly number[], n: number): number[][] {
  const shards: number[][] = Array.from({ length: Math.min(n, frames.length) }, () => []);
  const load = new Array<number>(shards.length).fill(0);
  const order = frames.map((f, i) => ({ f, i })).sort((a, b) => b.f - a.f || a.i - b.i);
  for (const { f, i } of order) {
    let best = 0;
    for (let s = 1; s < shards.length; s++) if ((load[s] as number) < (load[best] as number)) best = s;
    (shards[best] as number[]).push(i);
    load[best] = (load[best] as number) + f;
  }
  return shards.map((s) => s.sort((a, b) => a - b));
}

interface Pending {
  resolve: (msg: Extract<FromWorker, { type: 'grad' }>) => void;
  reject: (err: Error) => void;
}

class GradientWorker {
  private readonly pending = new Map<number, Pending>();
  private failed: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'grad') {
        this.pending.get(msg.id)?.resolve(msg);
        this.pending.delete(msg.id);
      } else if (msg.type === 'error') {
        this.failAll(new Error(`gradient worker failed: ${msg.message}`));
      }
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (this.pending.size > 0) this.failAll(new Error(`gradient worker exited (code ${code})`));
    });
  }

  private failAll(err: Error): void {
    this.failed = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  run(msg: Extract<ToWorker, { type: 'grad' }>): Promise<Extract<FromWorker, { type: 'grad' }>> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }
}

export class GradientPool {
  private nextId = 0;
  /** Peak tfjs bytes reported by any worker after a step. */
  peakWorkerBytes = 0;

  private constructor(private readonly workers: GradientWorker[]) {}

  get size(): number {
    return this.workers.length;
  }

  static async start(n: number, config: ModelConfig, backend: string): Promise<GradientPool> {
    const script = workerScript();
    const workers = await Promise.all(
      Array.from({ length: n }, async () => {
        const worker = new Worker(script);
        await new Promise<void>((resolve, reject) => {
          const onMessage = (msg: FromWorker): void => {
            if (msg.type === 'ready') resolve();
            else if (msg.type === 'error') reject(new Error(`gradient worker failed to start: ${msg.message}`));
          };
          worker.once('message', onMessage);
          worker.once('error', reject);
          worker.postMessage({ type: 'init', config, backend } satisfies ToWorker);
        });
        return new GradientWorker(worker);
      }),
    );
    return new GradientPool(workers);
  }

  /** Loss and gradients of the whole batch, computed shard by shard in parallel. */
  async compute(params: ModelParams, frames: readonly Frames[], targets: readonly number[][], samplingSeeds: readonly number[], options: StepLossOptions): Promise<Gradients> {
    const weights: Record<string, Float32Array> = {};
    for (const [name, v] of params.vars) weights[name] = v.dataSync() as Float32Array;
    const shards = splitShards(frames.map((f) => f.frames), this.workers.length);
    const results = await Promise.all(
      shards.map((idx, w) => {
        const job: ShardJob = {
          frames: idx.map((i) => frames[i] as Frames),
          targets: idx.map((i) => targets[i] as number[]),
          samplingSeeds: idx.map((i) => samplingSeeds[i] as number),
        };
        return (this.workers[w] as GradientWorker).run({ type: 'grad', id: this.nextId++, weights, job, options });
      }),
    );
    const tokens = results.reduce((n, r) => n + r.tokens, 0);
    const grads: Record<string, tf.Tensor> = {};
    for (const [name, v] of params.vars) {
      const sum = new Float32Array(v.size);
      for (const r of results) {
        const g = r.grads[name] as Float32Array;
        const weight = r.tokens / tokens;
        for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + weight * (g[i] as number);
      }
      grads[name] = tf.tensor(sum, v.shape);
    }
    for (const r of results) this.peakWorkerBytes = Math.max(this.peakWorkerBytes, r.bytes);
    return {
      loss: results.reduce((s, r) => s + r.loss * (r.tokens / tokens), 0),
      ...(results.every((r) => r.ctcLoss !== undefined) ? { ctcLoss: results.reduce((s, r) => s + (r.ctcLoss as number) * (r.tokens / tokens), 0) } : {}),
      tokens,
      sampledInputs: results.reduce((n, r) => n + r.sampledInputs, 0),
      grads,
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        w.worker.postMessage({ type: 'close' } satisfies ToWorker);
        await w.worker.terminate();
      }),
    );
  }
}
