import { initBackend } from '../src/backend.js';
import { DEFAULT_MODEL_CONFIG } from '../src/model/config.js';
import { referenceKernels } from '../src/model/kernels.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { Adam } from '../src/train/adam.js';
import { applyGradients, computeGradients } from '../src/train/step.js';
import { makeRng } from '../src/util/rng.js';
import * as tf from '@tensorflow/tfjs';

const info = await initBackend(process.argv[2] ?? 'wasm');
console.log(info);
const model = Seq2Seq.create(DEFAULT_MODEL_CONFIG, 1);
const rng = makeRng(1);
const frames = Array.from({ length: 16 }, () => { const d = new Float32Array(300*39); for (let i=0;i<d.length;i++) d[i]=rng()*2-1; return { frames: 300, dim: 39, data: d }; });
const targets = Array.from({ length: 16 }, () => Array.from({ length: 30 }, () => 3 + Math.floor(rng() * 28)));
const opt = new Adam();
for (const m of [model, model.withKernels(referenceKernels)]) {
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const g = computeGradients(m, frames, targets, { teacherForcing: 0.9, samplingSeeds: targets.map((_, i) => i) });
    const t1 = performance.now();
    applyGradients(m, opt, g.grads, 1e-3, 5);
    console.log(m.kernels.name, 'grad', (t1 - t0).toFixed(0), 'total', (performance.now() - t0).toFixed(0), 'ms loss', g.loss.toFixed(3), 'tensors', tf.memory().numTensors, 'MB', (tf.memory().numBytes/1e6).toFixed(0));
  }
}
