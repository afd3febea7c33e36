/**
 * The trainer's feature pass on worker threads: raw features of many (audio file, speed) jobs,
 * computed `workers` at a time. Each worker decodes, resamples and extracts by itself, so the
 * pass runs on every core instead of one (16,000 utterances at three speeds is ~48,000 jobs).
 */
import { Worker } from 'node:worker_threads';
import type { FeatureConfig, FeatureMatrix } from '../../features/index.js';
import { compiledWorker } from './compiled-worker.js';

export interface FeatureJob {
  audioPath: string;
  speed: number;
}

/** What a worker sends back for job `id`: the features, or why they could not be computed. */
export type FeatureResult = { id: number; frames: number; dim: number; data: Float32Array; duration: number } | { id: number; error: string };

/** Jobs each worker holds at once, so that none waits for its next message. */
const IN_FLIGHT = 4;

/**
 * Compute every job's features on `workers` threads; `onResult` gets them as they arrive (in
 * any order). Rejects on the first failure, or when `onResult` throws (how the trainer stops
 * the pass on a signal); the workers are stopped either way.
 */
export async function extractFeaturesInParallel(
  jobs: readonly FeatureJob[],
  cfg: FeatureConfig,
  workers: number,
  onResult: (index: number, features: FeatureMatrix, duration: number) => void,
): Promise<void> {
  if (jobs.length === 0) return;
  const threads = Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, () => new Worker(compiledWorker('feature-worker.js'), { workerData: { cfg } }));
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        settled = true;
        reject(err);
      };
      const feed = (w: Worker): void => {
        if (next >= jobs.length) return;
        const id = next++;
        w.postMessage({ id, ...(jobs[id] as FeatureJob) });
      };
      for (const w of threads) {
        w.on('message', (r: FeatureResult) => {
          if (settled) return; // results still queued after a failure
          if ('error' in r) return fail(new Error(r.error));
          try {
            onResult(r.id, { frames: r.frames, dim: r.dim, data: r.data }, r.duration);
          } catch (err) {
            return fail(err as Error);
          }
          if (++done < jobs.length) return feed(w);
          settled = true;
          resolve();
        });
        w.on('error', fail);
        w.on('exit', (code) => {
          if (!settled) fail(new Error(`feature worker exited early (code ${code})`));
        });
        for (let i = 0; i < IN_FLIGHT; i++) feed(w);
      }
    });
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}
