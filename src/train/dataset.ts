/**
 * Training data: manifest entries checked against the vocabulary, and their normalized
 * features computed once and kept in memory (one copy per speed-perturbation factor used).
 */
import { open, rename } from 'node:fs/promises';
import { loadAudio, resample } from '../audio/index.js';
import { extractFeatures, NormAccumulator, normalize, type FeatureConfig, type FeatureMatrix, type NormStats } from '../features/index.js';
import { readManifest, type ManifestEntry } from '../io/manifest.js';
import { readLargeFile } from '../io/read-large.js';
import type { Vocabulary } from '../model/vocab.js';
import { normalizeTranscript } from '../text/normalize.js';

export interface Utterance {
  index: number;
  audioPath: string;
  text: string;
  targets: number[];
  /** Seconds, from the manifest when given, else measured. */
  duration: number;
}

export interface Skipped {
  audioPath: string;
  reason: string;
}

/** Read a manifest and keep the entries whose text the vocabulary can spell. */
export async function loadUtterances(manifest: string, vocab: Vocabulary, maxDuration = Infinity): Promise<{ utterances: Utterance[]; skipped: Skipped[] }> {
  const entries: ManifestEntry[] = await readManifest(manifest);
  const utterances: Utterance[] = [];
  const skipped: Skipped[] = [];
  for (const e of entries) {
    const text = normalizeTranscript(e.text);
    if (text.length === 0) {
      skipped.push({ audioPath: e.audioFilepath, reason: 'empty transcript' });
      continue;
    }
    if (e.duration !== undefined && e.duration > maxDuration) {
      skipped.push({ audioPath: e.audioFilepath, reason: `longer than ${maxDuration} s` });
      continue;
    }
    try {
      utterances.push({ index: utterances.length, audioPath: e.audioFilepath, text, targets: vocab.encode(text), duration: e.duration ?? 0 });
    } catch (err) {
      skipped.push({ audioPath: e.audioFilepath, reason: (err as Error).message });
    }
  }
  return { utterances, skipped };
}

/** Frames of a clip of `seconds` (10 ms hop, 25 ms window). */
export function framesForDuration(seconds: number, cfg: FeatureConfig): number {
  const n = Math.round(seconds * cfg.sampleRate);
  const win = Math.round((cfg.windowMs / 1000) * cfg.sampleRate);
  const hop = Math.round((cfg.hopMs / 1000) * cfg.sampleRate);
  return Math.max(1, Math.floor((n - win) / hop) + 1);
}

/**
 * Raw features of decoded audio played `speed` times faster. Speed perturbation resamples the
 * audio to the feature rate as if it had been recorded at rate x speed, so it lasts 1/speed as
 * long and its pitch moves too (as with sox's `speed` effect).
 */
export function perturbedFeatures(samples: Float32Array, speed: number, cfg: FeatureConfig): FeatureMatrix {
  const s = speed === 1 ? samples : resample(samples, Math.round(cfg.sampleRate * speed), cfg.sampleRate);
  return extractFeatures(s, cfg, { engine: 'js' });
}

/** Raw features of one audio file at one speed (what a feature worker computes). */
export async function featuresOfFile(audioPath: string, speed: number, cfg: FeatureConfig): Promise<{ features: FeatureMatrix; duration: number }> {
  const samples = await loadAudio(audioPath, cfg.sampleRate);
  return { features: perturbedFeatures(samples, speed, cfg), duration: samples.length / cfg.sampleRate };
}

/**
 * Caches raw (unnormalized) features per utterance and speed factor: computed on demand, or
 * put in by the trainer's parallel feature pass, or loaded from a file saved by an earlier run.
 */
export class FeatureStore {
  /** Keyed by audio path and speed: train and validation sets share the store. */
  private readonly cache = new Map<string, FeatureMatrix>();

  constructor(readonly cfg: FeatureConfig) {}

  has(u: Utterance, speed = 1): boolean {
    return this.cache.has(`${u.audioPath}@${speed}`);
  }

  /** Features computed elsewhere (a feature worker); `duration` is the unperturbed audio's. */
  put(u: Utterance, speed: number, m: FeatureMatrix, duration: number): void {
    this.cache.set(`${u.audioPath}@${speed}`, m);
    if (u.duration === 0) u.duration = duration;
  }

  async raw(u: Utterance, speed = 1): Promise<FeatureMatrix> {
    const key = `${u.audioPath}@${speed}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const { features, duration } = await featuresOfFile(u.audioPath, speed, this.cfg);
    if (u.duration === 0) u.duration = duration;
    this.cache.set(key, features);
    return features;
  }

  async normalized(u: Utterance, stats: NormStats, speed = 1): Promise<FeatureMatrix> {
    return normalize(await this.raw(u, speed), stats);
  }

  /**
   * Save the features of `utterances` at one speed to one file (a JSON header, then the
   * float32 data), so that a later run or session skips feature extraction. `key` names
   * what the features depend on (feature settings, manifest); `loadFile` checks it.
   */
  async saveFile(file: string, key: string, utterances: readonly Utterance[], speed = 1): Promise<void> {
    const entries = [];
    for (const u of utterances) {
      const m = await this.raw(u, speed);
      entries.push({ path: u.audioPath, frames: m.frames, dim: m.dim, duration: u.duration });
    }
    let header = Buffer.from(JSON.stringify({ format: 'koe-features', version: 1, key, speed, entries }));
    header = Buffer.concat([header, Buffer.alloc((4 - ((header.length + 4) % 4)) % 4, 0x20)]);
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(header.length);
      await fh.write(size);
      await fh.write(header);
      for (const u of utterances) {
        const m = this.cache.get(`${u.audioPath}@${speed}`) as FeatureMatrix;
        await fh.write(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  }

  /** Load features saved by saveFile; false (and nothing loaded) when missing or made for another key or speed. */
  async loadFile(file: string, key: string, utterances: readonly Utterance[], speed = 1): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await readLargeFile(file);
    } catch {
      return false;
    }
    type Header = { format: string; key: string; speed?: number; entries: { path: string; frames: number; dim: number; duration: number }[] };
    let header: Header;
    let headerLength: number;
    try {
      headerLength = bytes.readUInt32LE(0);
      header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as Header;
    } catch {
      return false; // truncated or not a feature file: computed anew
    }
    if (header.format !== 'koe-features' || header.key !== key || (header.speed ?? 1) !== speed || header.entries.length !== utterances.length) return false;
    if (header.entries.some((e, i) => e.path !== (utterances[i] as Utterance).audioPath)) return false;
    const start = 4 + headerLength;
    if (start + header.entries.reduce((n, e) => n + e.frames * e.dim * 4, 0) !== bytes.length) return false;
    let offset = start;
    header.entries.forEach((e, i) => {
      const n = e.frames * e.dim;
      const data = new Float32Array(bytes.buffer, bytes.byteOffset + offset, n);
      offset += n * 4;
      this.cache.set(`${e.path}@${speed}`, { frames: e.frames, dim: e.dim, data });
      const u = utterances[i] as Utterance;
      if (u.duration === 0) u.duration = e.duration;
    });
    return true;
  }
}

/** Mean and standard deviation of the features over a set of utterances. */
export async function normalizationStats(store: FeatureStore, utterances: readonly Utterance[]): Promise<NormStats> {
  const acc = new NormAccumulator();
  for (const u of utterances) acc.add(await store.raw(u));
  return acc.finish();
}
