/**
 * A gradient worker: its own tfjs backend instance (one wasm instance = one core), the
 * model's parameters kept equal to the trainer's, and one job: the loss and gradients of a
 * shard of the batch.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../backend.js';
import { Seq2Seq } from '../../model/seq2seq.js';
import { tidyKeep } from '../../util/tidy.js';
import { computeGradients } from '../step.js';
import type { FromWorker, ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

let model: Seq2Seq | undefined;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(msg, transfer);
}

port.on('message', (msg: ToWorker) => {
  void handle(msg).catch((err: unknown) => {
    post({ type: 'error', id: msg.type === 'grad' ? msg.id : undefined, message: err instanceof Error ? err.stack ?? err.message : String(err) });
  });
});

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      const info = await initBackend(msg.backend);
      model = Seq2Seq.create(msg.config, 0);
      post({ type: 'ready', backend: info.name });
      return;
    }
    case 'grad': {
      if (!model) throw new Error('worker not initialized');
      for (const [name, values] of Object.entries(msg.weights)) {
        const v = model.params.get(name);
        tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
      }
      const m = model;
      const g = tidyKeep(() =>
        computeGradients(m, msg.job.frames, msg.job.targets, { ...msg.options, samplingSeeds: msg.job.samplingSeeds }),
      );
      const bytes = tf.memory().numBytes;
      const grads: Record<string, Float32Array> = {};
      // Copies: a backend may hand out its own storage, which must not be transferred away.
      for (const [name, t] of Object.entries(g.grads)) grads[name] = new Float32Array(t.dataSync() as Float32Array);
      tf.dispose(Object.values(g.grads));
      post(
        { type: 'grad', id: msg.id, loss: g.loss, ...(g.ctcLoss === undefined ? {} : { ctcLoss: g.ctcLoss }), tokens: g.tokens, sampledInputs: g.sampledInputs, grads, bytes },
        Object.values(grads).map((a) => a.buffer as ArrayBuffer),
      );
      return;
    }
    case 'close':
      model?.dispose();
      port?.close();
      return;
  }
}
