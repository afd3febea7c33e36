/**
 * A gradient worker: its own tfjs backend instance (one wasm instance = one core) holding a
 * replica of the trainer's model and Adam state. Each step it computes the loss and gradients
 * of its shard, puts them in its shared slot, sums all replicas' slots once every shard is in,
 * and applies the same clipped Adam update as the trainer's thread, so no weights travel.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../backend.js';
import { ModelParams } from '../../model/params.js';
import { Seq2Seq } from '../../model/seq2seq.js';
import { tidyKeep } from '../../util/tidy.js';
import { Adam } from '../adam.js';
import { applyGradients, computeGradients } from '../step.js';
import { reduceSlots, slotViews, weightsChecksum, writeSlot, type ParamLayout } from './exchange.js';
import type { FromWorker, ReplicaState, ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

interface Replica {
  model: Seq2Seq;
  adam: Adam;
  slot: number;
  replicas: number;
  layout: ParamLayout;
  buffers: SharedArrayBuffer[];
  /** Summed gradients waiting for 'apply'. */
  reduced?: Record<string, tf.Tensor>;
  /** Timings of the last reduce and apply, reported with the next gradients. */
  reduceMs: number;
  applyMs: number;
}

let replica: Replica | undefined;

function post(msg: FromWorker): void {
  port?.postMessage(msg);
}

port.on('message', (msg: ToWorker) => {
  void handle(msg).catch((err: unknown) => {
    post({ type: 'error', id: msg.type === 'grad' || msg.type === 'state' ? msg.id : undefined, message: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
});

function tensors(values: Record<string, Float32Array>, shapeOf: (key: string) => number[] | undefined): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [key, v] of Object.entries(values)) out[key] = tf.tensor(v, shapeOf(key));
  return out;
}

function dropReduced(r: Replica): void {
  if (r.reduced) tf.dispose(Object.values(r.reduced));
  r.reduced = undefined;
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === 'init') {
    const info = await initBackend(msg.backend);
    const shapes = new Map(msg.layout.names.map((n, i) => [n, msg.layout.shapes[i] as number[]]));
    const weights = tensors(msg.state.weights, (name) => shapes.get(name));
    // Adam's moments are keyed `m/<param>` and `v/<param>`.
    const moments = tensors(msg.state.adam, (key) => shapes.get(key.slice(key.indexOf('/') + 1)));
    try {
      const model = new Seq2Seq(msg.config, ModelParams.fromTensors(msg.config, weights));
      const names = [...model.params.vars.keys()];
      if (names.join(',') !== msg.layout.names.join(',')) throw new Error(`parameter sets differ: worker [${names.join(', ')}], trainer [${msg.layout.names.join(', ')}]`);
      const adam = new Adam(msg.adamSettings);
      adam.restore(msg.state.adamStep, moments);
      replica = { model, adam, slot: msg.slot, replicas: msg.replicas, layout: msg.layout, buffers: msg.buffers, reduceMs: 0, applyMs: 0 };
    } finally {
      // The variables hold their own references to the data.
      tf.dispose([...Object.values(weights), ...Object.values(moments)]);
    }
    post({ type: 'ready', backend: info.name });
    return;
  }
  if (msg.type === 'close') {
    if (replica) {
      dropReduced(replica);
      replica.model.dispose();
      replica.adam.dispose();
    }
    port?.close();
    return;
  }
  const r = replica;
  if (!r) throw new Error('worker not initialized');
  switch (msg.type) {
    case 'grad': {
      dropReduced(r); // a step that was computed but not applied (only outside the trainer)
      const t0 = performance.now();
      const checksum = msg.check ? weightsChecksum(r.layout, r.model.params.vars) : undefined;
      const t1 = performance.now();
      const g = tidyKeep(() => computeGradients(r.model, msg.job.frames, msg.job.targets, { ...msg.options, samplingSeeds: msg.job.samplingSeeds }));
      const bytes = tf.memory().numBytes;
      const t2 = performance.now();
      let missing: string[];
      try {
        missing = writeSlot(r.layout, slotViews(r.buffers, r.replicas, msg.parity)[r.slot] as Float32Array, g.grads);
      } finally {
        tf.dispose(Object.values(g.grads));
      }
      const t3 = performance.now();
      post({
        type: 'grad',
        id: msg.id,
        loss: g.loss,
        tokens: g.tokens,
        sampledInputs: g.sampledInputs,
        missing,
        checksum,
        bytes,
        ms: { check: t1 - t0, compute: t2 - t1, write: t3 - t2, reduce: r.reduceMs, apply: r.applyMs },
      });
      r.reduceMs = 0;
      r.applyMs = 0;
      return;
    }
    case 'reduce': {
      dropReduced(r);
      const t0 = performance.now();
      r.reduced = reduceSlots(r.layout, slotViews(r.buffers, r.replicas, msg.parity), msg.shards);
      r.reduceMs = performance.now() - t0;
      return;
    }
    case 'apply': {
      if (!r.reduced) throw new Error('apply without reduced gradients');
      const t0 = performance.now();
      const grads = r.reduced;
      r.reduced = undefined;
      applyGradients(r.model, r.adam, grads, msg.learningRate, msg.clipNorm);
      r.applyMs = performance.now() - t0;
      return;
    }
    case 'state': {
      const state: ReplicaState = { weights: {}, adamStep: r.adam.step, adam: {} };
      for (const [name, v] of r.model.params.vars) state.weights[name] = new Float32Array(v.dataSync() as Float32Array);
      const a = r.adam.state();
      for (const [name, t] of Object.entries(a.tensors)) state.adam[name] = new Float32Array(t.dataSync() as Float32Array);
      post({ type: 'state', id: msg.id, state });
      return;
    }
  }
}
