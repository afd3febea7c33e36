/**
 * A feature worker: computes the raw features of audio files (at a speed-perturbation factor)
 * for the trainer's feature pass, one job at a time, and sends them back as transferred buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FeatureConfig } from '../../features/index.js';
import { featuresOfFile } from '../dataset.js';
import type { FeatureJob, FeatureResult } from './feature-pool.js';

const port = parentPort;
if (!port) throw new Error('feature-worker.ts must run in a worker thread');
const cfg = (workerData as { cfg: FeatureConfig }).cfg;

port.on('message', (job: FeatureJob & { id: number }) => {
  featuresOfFile(job.audioPath, job.speed, cfg).then(
    ({ features, duration }) => {
      const result: FeatureResult = { id: job.id, frames: features.frames, dim: features.dim, data: features.data, duration };
      port.postMessage(result, [features.data.buffer as ArrayBuffer]);
    },
    (err: Error) => port.postMessage({ id: job.id, error: `${job.audioPath}: ${err.message}` } satisfies FeatureResult),
  );
});
