/**
 * The deterministic plan of a corpus: which sentence, voice, engine parameters and augmentation
 * every utterance gets. Utterance `i` of a split depends only on the seed, the split, `i` and the
 * sentence pool, never on how many utterances are requested, so a build can be resumed, or grown
 * with a larger count, and reproduces the same files.
 */
import { createHash } from 'node:crypto';

import { makeRng, type Rng } from '../../src/util/rng.js';
import type { Sentence } from './text.js';
import { drawRendering, pickVoice, voiceId, type Engine, type Rendering, type Voice } from './voices.js';
import { NOISE_TYPES, type NoiseType } from './wav.js';

export const SPLITS = ['train', 'valid', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export interface AugmentOptions {
  /** Speed perturbation factors (sox `speed`: tempo and pitch together). */
  speeds: number[];
  /** `random`: one factor drawn per utterance; `copies`: one file per factor (Kaldi style). */
  speedMode: 'random' | 'copies';
  /** Fraction of output files that get additive noise. */
  noise: number;
  /** SNR range in dB for the noise, drawn uniformly. */
  snr: [number, number];
  noiseTypes: NoiseType[];
  /** Fraction of output files band-limited to 300-3400 Hz (telephone). */
  telephone: number;
  /** Also augment the valid and test splits (default: only train). */
  augmentEval: boolean;
}

export interface PlanOptions {
  seed: number;
  trainVoices: Voice[];
  testVoices: Voice[];
  engineWeights: Record<Engine, number>;
  espeakVariants: string[];
  augment: AugmentOptions;
}

export interface PlannedOutput {
  /** Utterance id, also the file's base name. */
  id: string;
  /** Path relative to the corpus folder (and to the manifests, which live there). */
  relPath: string;
  speed: number;
  noise: { type: NoiseType; snr: number; seed: number } | null;
  telephone: boolean;
}

export interface PlannedItem {
  /** Base id (the synthesized utterance before speed copies). */
  id: string;
  split: Split;
  index: number;
  sentence: Sentence;
  rendering: Rendering;
  outputs: PlannedOutput[];
}

/** A 32-bit seed from any strings/numbers (stable across platforms). */
export function hashSeed(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function speedTag(s: number): string {
  return `sp${s.toFixed(2).replace(/0$/, '')}`;
}

function drawAugment(rng: Rng, a: AugmentOptions, on: boolean, speed: number): Omit<PlannedOutput, 'id' | 'relPath'> {
  // Always draw the same number of values so that toggling one option does not reshuffle the rest.
  const rNoise = rng();
  const rSnr = rng();
  const rType = rng();
  const noiseSeed = Math.floor(rng() * 0x100000000);
  const rTel = rng();
  const noise =
    on && rNoise < a.noise && a.noiseTypes.length
      ? {
          type: a.noiseTypes[Math.floor(rType * a.noiseTypes.length)] as NoiseType,
          snr: Math.round((a.snr[0] + (a.snr[1] - a.snr[0]) * rSnr) * 10) / 10,
          seed: noiseSeed,
        }
      : null;
  return { speed, noise, telephone: on && rTel < a.telephone };
}

/** Plan utterances `0 .. count-1` of one split over its sentence pool. */
export function planSplit(split: Split, pool: readonly Sentence[], count: number, opts: PlanOptions): PlannedItem[] {
  if (count > 0 && pool.length === 0) throw new Error(`no sentences for the ${split} split`);
  const voices = split === 'test' ? opts.testVoices : opts.trainVoices;
  const weights = split === 'test' ? undefined : opts.engineWeights;
  const a = opts.augment;
  const augmented = split === 'train' || a.augmentEval;
  const items: PlannedItem[] = [];
  for (let i = 0; i < count; i++) {
    const rng = makeRng(hashSeed(opts.seed, split, i));
    const sentence = pool[i % pool.length] as Sentence;
    const voice = pickVoice(rng, voices, weights);
    const rendering = drawRendering(rng, voice, opts.espeakVariants);
    const rSpeed = rng();
    const id = `${split}-${pad(i, 6)}`;
    const dir = `audio/${split}/${pad(Math.floor(i / 1000), 3)}`;
    const speeds = !augmented || a.speeds.length === 0 ? [1] : a.speedMode === 'copies' ? a.speeds : [a.speeds[Math.floor(rSpeed * a.speeds.length)] as number];
    const outputs = speeds.map((speed) => {
      const oid = a.speedMode === 'copies' && augmented && a.speeds.length > 1 ? `${id}_${speedTag(speed)}` : id;
      return { id: oid, relPath: `${dir}/${oid}.wav`, ...drawAugment(rng, a, augmented, speed) };
    });
    items.push({ id, split, index: i, sentence, rendering, outputs });
  }
  return items;
}

/** Fields of a planned output for the manifest (besides path, text, duration). */
export function manifestFields(item: PlannedItem, out: PlannedOutput): Record<string, unknown> {
  const r = item.rendering;
  return {
    id: out.id,
    split: item.split,
    voice: voiceId(r.voice),
    engine: r.voice.engine,
    ...(r.variant !== undefined ? { variant: r.variant || 'default' } : {}),
    tts_rate: r.rate,
    ...(r.pitch !== undefined ? { tts_pitch: r.pitch } : {}),
    speed: out.speed,
    noise: out.noise ? out.noise.type : null,
    snr: out.noise ? out.noise.snr : null,
    telephone: out.telephone,
    source: item.sentence.source,
  };
}

export { NOISE_TYPES };
