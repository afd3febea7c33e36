/**
 * Training data: manifest entries checked against the vocabulary, and their normalized
 * features computed once and kept in memory (one copy per speed-perturbation factor used).
 */
import { open, readFile, rename } from 'node:fs/promises';
import { loadAudio, resample } from '../audio/index.js';
import { extractFeatures, NormAccumulator, normalize, type FeatureConfig, type FeatureMatrix, type NormStats } from '../features/index.js';
import { readManifest, type ManifestEntry } from '../io/manifest.js';
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
 * Computes and caches raw (unnormalized) features per utterance and speed factor.
 * Speed perturbation resamples the audio so it plays `speed` times faster (pitch moves too,
 * as with sox's `speed` effect).
 */
export class FeatureStore {
  /** Keyed by audio path and speed: train and validation sets share the store. */
  private readonly cache = new Map<string, FeatureMatrix>();
  private readonly audio = new Map<string, Float32Array>();

  constructor(
    readonly cfg: FeatureConfig,
    /** Keep decoded audio for on-the-fly speed perturbation (costs memory). */
    private readonly keepAudio: boolean,
  ) {}

  private async samples(u: Utterance): Promise<Float32Array> {
    const kept = this.audio.get(u.audioPath);
    if (kept) return kept;
    const s = await loadAudio(u.audioPath, this.cfg.sampleRate);
    if (this.keepAudio) this.audio.set(u.audioPath, s);
    return s;
  }

  async raw(u: Utterance, speed = 1): Promise<FeatureMatrix> {
    const key = `${u.audioPath}@${speed}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let s = await this.samples(u);
    if (u.duration === 0) u.duration = s.length / this.cfg.sampleRate;
    // Playing `speed` times faster = resampling as if the audio had been recorded at rate/speed.
    if (speed !== 1) s = resample(s, Math.round(this.cfg.sampleRate * speed), this.cfg.sampleRate);
    const m = extractFeatures(s, this.cfg, { engine: 'js' });
    this.cache.set(key, m);
    return m;
  }

  async normalized(u: Utterance, stats: NormStats, speed = 1): Promise<FeatureMatrix> {
    return normalize(await this.raw(u, speed), stats);
  }

  /**
   * Save the unperturbed features of `utterances` to one file (a JSON header, then the
   * float32 data), so that a later run or session skips feature extraction. `key` names
   * what the features depend on (feature settings, manifest); `loadFile` checks it.
   */
  async saveFile(file: string, key: string, utterances: readonly Utterance[]): Promise<void> {
    const entries = [];
    for (const u of utterances) {
      const m = await this.raw(u);
      entries.push({ path: u.audioPath, frames: m.frames, dim: m.dim, duration: u.duration });
    }
    let header = Buffer.from(JSON.stringify({ format: 'koe-features', version: 1, key, entries }));
    header = Buffer.concat([header, Buffer.alloc((4 - ((header.length + 4) % 4)) % 4, 0x20)]);
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(header.length);
      await fh.write(size);
      await fh.write(header);
      for (const u of utterances) {
        const m = this.cache.get(`${u.audioPath}@1`) as FeatureMatrix;
        await fh.write(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  }

  /** Load features saved by saveFile; false (and nothing loaded) when missing or made for another key. */
  async loadFile(file: string, key: string, utterances: readonly Utterance[]): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      return false;
    }
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as {
      format: string;
      key: string;
      entries: { path: string; frames: number; dim: number; duration: number }[];
    };
    if (header.format !== 'koe-features' || header.key !== key || header.entries.length !== utterances.length) return false;
    if (header.entries.some((e, i) => e.path !== (utterances[i] as Utterance).audioPath)) return false;
    let offset = 4 + headerLength;
    header.entries.forEach((e, i) => {
      const n = e.frames * e.dim;
      const data = new Float32Array(bytes.buffer, bytes.byteOffset + offset, n);
      offset += n * 4;
      this.cache.set(`${e.path}@1`, { frames: e.frames, dim: e.dim, data });
      const u = utterances[i] as Utterance;
      if (u.duration === 0) u.duration = e.duration;
    });
    return offset === bytes.length;
  }
}

/** Mean and standard deviation of the features over a set of utterances. */
export async function normalizationStats(store: FeatureStore, utterances: readonly Utterance[], onProgress?: (done: number) => void): Promise<NormStats> {
  const acc = new NormAccumulator();
  let done = 0;
  for (const u of utterances) {
    acc.add(await store.raw(u));
    onProgress?.(++done);
  }
  return acc.finish();
}
