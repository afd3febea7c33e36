/**
 * Data-parallel training with replicas. `n` replicas of the model and its Adam state: the
 * trainer's own (in this thread) and n - 1 worker threads, each with its own backend instance.
 * Each step a batch is split into n shards of similar total length; every replica computes its
 * shard's loss and gradients and copies them into its slot of shared memory; once all shards
 * are in, every replica sums the slots itself (weighted by target characters, in the same order,
 * see exchange.ts) and applies the same clipped Adam update. Only the jobs and a few numbers
 * travel as messages: no weights are broadcast, nothing waits for a single thread's Adam, and
 * the trainer's model stays bit-identical to the workers' (checked by a weight checksum).
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Frames } from '../../model/batch.js';
import type { Seq2Seq, StepLossOptions } from '../../model/seq2seq.js';
import { tidyKeep } from '../../util/tidy.js';
import type { Adam } from '../adam.js';
import { applyGradients, computeGradients, type Gradients, type UpdateResult } from '../step.js';
import { compiledWorker } from './compiled-worker.js';
import { allocateSlots, layoutOf, reduceSlots, slotViews, weightsChecksum, writeSlot, type ParamLayout, type ShardSummary } from './exchange.js';
import type { FromWorker, ReplicaState, ShardJob, ToWorker, WorkerTimings } from './protocol.js';

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

/** Milliseconds spent on the parts of the last step. */
export interface StepTimings {
  /**
   * This thread: weight checksum, its own shard's gradients, copying them into its slot, waiting
   * for the workers' shards after that, summing the slots, clipping + Adam.
   */
  main: { check: number; compute: number; write: number; wait: number; reduce: number; apply: number };
  /** Each worker thread as reported with its shard (its reduce and apply are of the step before). */
  workers: WorkerTimings[];
}

export interface PoolOptions {
  /**
   * Compare every replica's weight checksum with this thread's every this many steps (0 = never;
   * default 10; a checksum costs a few ms per replica, in parallel).
   */
  checkEvery?: number;
}

type GradReply = Extract<FromWorker, { type: 'grad' }>;

class GradientWorker {
  private readonly pending = new Map<number, { resolve: (msg: FromWorker) => void; reject: (err: Error) => void }>();
  private failed: Error | undefined;
  private closing = false;

  constructor(readonly worker: Worker) {
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'error') {
        this.failAll(new Error(`gradient worker failed: ${msg.message}`));
      } else if (msg.type === 'grad' || msg.type === 'state') {
        this.pending.get(msg.id)?.resolve(msg);
        this.pending.delete(msg.id);
      }
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (!this.closing) this.failAll(new Error(`gradient worker exited (code ${code})`));
    });
  }

  private failAll(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** A message without a reply; a failure shows at the next request. */
  send(msg: ToWorker): void {
    if (!this.failed) this.worker.postMessage(msg);
  }

  request(msg: Extract<ToWorker, { id: number }>): Promise<FromWorker> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await this.worker.terminate();
  }
}

export class GradientPool {
  /** Peak tfjs bytes reported by any worker after a step. */
  peakWorkerBytes = 0;
  lastTimings: StepTimings | undefined;
  private nextId = 0;
  private exchanges = 0;
  /** compute() has summed gradients that apply() has not yet applied. */
  private computed = false;
  private broken: Error | undefined;

  private constructor(
    private readonly model: Seq2Seq,
    private readonly adam: Adam,
    private readonly layout: ParamLayout,
    private readonly buffers: SharedArrayBuffer[],
    private readonly workers: GradientWorker[],
    private readonly checkEvery: number,
  ) {}

  /** Replicas, this thread's included. */
  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * `n` replicas of `model` and `adam` as they are now: this thread's (the objects themselves,
   * which from now on change only through compute() + apply()) and n - 1 worker threads.
   */
  static async start(n: number, model: Seq2Seq, adam: Adam, backend: string, options: PoolOptions = {}): Promise<GradientPool> {
    const replicas = Math.max(1, Math.floor(n));
    const layout = layoutOf(model.params.vars);
    const buffers = allocateSlots(layout, replicas);
    const state: ReplicaState = { weights: {}, adamStep: adam.step, adam: {} };
    if (replicas > 1) {
      for (const [name, v] of model.params.vars) state.weights[name] = v.dataSync() as Float32Array;
      for (const [key, t] of Object.entries(adam.state().tensors)) state.adam[key] = t.dataSync() as Float32Array;
    }
    const started = await Promise.allSettled(
      Array.from({ length: replicas - 1 }, async (_, i) => {
        const worker = new Worker(compiledWorker('worker.js'));
        try {
          await new Promise<void>((resolve, reject) => {
            const onMessage = (msg: FromWorker): void => {
              if (msg.type === 'ready') resolve();
              else if (msg.type === 'error') reject(new Error(`gradient worker failed to start: ${msg.message}`));
            };
            worker.once('message', onMessage);
            worker.once('error', reject);
            worker.postMessage({
              type: 'init',
              config: model.config,
              backend,
              slot: i + 1,
              replicas,
              layout,
              buffers,
              state,
              adamSettings: adam.settings,
            } satisfies ToWorker);
          });
        } catch (err) {
          await worker.terminate();
          throw err;
        }
        return new GradientWorker(worker);
      }),
    );
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await Promise.all(workers.map((w) => w.close()));
      throw failure.reason;
    }
    return new GradientPool(model, adam, layout, buffers, workers, Math.max(0, Math.floor(options.checkEvery ?? 10)));
  }

  /**
   * Loss and gradients of the whole batch (the mean over its target characters). This thread
   * computes its own shard before the returned promise settles, so a caller can overlap other
   * work only with the workers' remaining time. Follow with apply() on the returned gradients.
   */
  async compute(frames: readonly Frames[], targets: readonly number[][], samplingSeeds: readonly number[], options: StepLossOptions): Promise<Gradients> {
    if (this.broken) throw this.broken;
    try {
      return await this.exchange(frames, targets, samplingSeeds, options);
    } catch (err) {
      this.broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  private async exchange(frames: readonly Frames[], targets: readonly number[][], samplingSeeds: readonly number[], options: StepLossOptions): Promise<Gradients> {
    if (frames.length === 0) throw new Error('GradientPool.compute: empty batch');
    const exchange = this.exchanges++;
    const parity = exchange % 2;
    const check = this.checkEvery > 0 && exchange % this.checkEvery === 0;
    this.computed = false;
    // This thread takes the lightest shard (it also prepares batches); workers the rest.
    const shards = splitShards(frames.map((f) => f.frames), this.size);
    const load = (s: number[]): number => s.reduce((n, i) => n + (frames[i] as Frames).frames, 0);
    const lightest = shards.reduce((best, s, i) => (load(s) < load(shards[best] as number[]) ? i : best), 0);
    const own = shards.splice(lightest, 1)[0] as number[];
    const jobOf = (idx: number[]): ShardJob => ({
      frames: idx.map((i) => frames[i] as Frames),
      targets: idx.map((i) => targets[i] as number[]),
      samplingSeeds: idx.map((i) => samplingSeeds[i] as number),
    });
    const replies = Promise.all(
      this.workers.map((w, i) => {
        const idx = shards[i];
        if (!idx) return Promise.resolve(undefined); // fewer utterances than replicas
        return w.request({ type: 'grad', id: this.nextId++, parity, job: jobOf(idx), options, check }) as Promise<GradReply>;
      }),
    );
    replies.catch(() => undefined); // awaited below; this only avoids an unhandled rejection meanwhile

    const slots = slotViews(this.buffers, this.size, parity);
    const t0 = performance.now();
    const checksum = check ? weightsChecksum(this.layout, this.model.params.vars) : undefined;
    const t1 = performance.now();
    const mine = jobOf(own);
    const g = tidyKeep(() => computeGradients(this.model, mine.frames, mine.targets, { ...options, samplingSeeds: mine.samplingSeeds }));
    const t2 = performance.now();
    let missing: string[];
    try {
      missing = writeSlot(this.layout, slots[0] as Float32Array, g.grads);
    } finally {
      tf.dispose(Object.values(g.grads));
    }
    const t3 = performance.now();
    const results = await replies;
    const t4 = performance.now();

    results.forEach((r, i) => {
      if (r && check && r.checksum !== checksum) {
        throw new Error(
          `data-parallel replica ${i + 1} no longer equals the trainer's model (weight checksum ${r.checksum} vs ${checksum}, step ${exchange} of this pool); ` +
            'the model was changed outside GradientPool.compute/apply',
        );
      }
    });
    const summaries: (ShardSummary | null)[] = [{ tokens: g.tokens, missing }, ...results.map((r) => (r ? { tokens: r.tokens, missing: r.missing } : null))];
    for (const w of this.workers) w.send({ type: 'reduce', parity, shards: summaries });
    const grads = reduceSlots(this.layout, slots, summaries);
    const t5 = performance.now();
    this.computed = true;

    const done = results.filter((r): r is GradReply => r !== undefined);
    for (const r of done) this.peakWorkerBytes = Math.max(this.peakWorkerBytes, r.bytes);
    this.lastTimings = {
      main: { check: t1 - t0, compute: t2 - t1, write: t3 - t2, wait: t4 - t3, reduce: t5 - t4, apply: 0 },
      workers: done.map((r) => r.ms),
    };
    const tokens = g.tokens + done.reduce((n, r) => n + r.tokens, 0);
    return {
      loss: (g.loss * g.tokens + done.reduce((s, r) => s + r.loss * r.tokens, 0)) / tokens,
      tokens,
      sampledInputs: g.sampledInputs + done.reduce((n, r) => n + r.sampledInputs, 0),
      grads,
    };
  }

  /**
   * Clip and apply the gradients that compute() returned, with Adam, in every replica: the
   * workers get the same learning rate and clipping threshold and apply their own (identical)
   * sums while this thread updates the trainer's model and `adam`. Disposes `grads`.
   */
  apply(grads: Record<string, tf.Tensor>, learningRate: number, clipNorm: number): UpdateResult {
    if (this.broken || !this.computed) {
      tf.dispose(Object.values(grads));
      throw this.broken ?? new Error('GradientPool.apply: no gradients to apply (call compute() first)');
    }
    this.computed = false;
    for (const w of this.workers) w.send({ type: 'apply', learningRate, clipNorm });
    const t0 = performance.now();
    const update = applyGradients(this.model, this.adam, grads, learningRate, clipNorm);
    if (this.lastTimings) this.lastTimings.main.apply = performance.now() - t0;
    return update;
  }

  /** A worker's replica (weights and Adam state), for checks. `index` counts worker threads from 0. */
  async replicaState(index: number): Promise<ReplicaState> {
    const w = this.workers[index];
    if (!w) throw new Error(`no worker ${index}`);
    const reply = await w.request({ type: 'state', id: this.nextId++ });
    if (reply.type !== 'state') throw new Error(`unexpected reply ${reply.type}`);
    return reply.state;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
