/**
 * The voice table of the corpus builder (see shared notes on data sources): which TTS engines and
 * voices exist, which are held out for the test split, how voices are sampled, and how to check
 * that an engine and voice are installed.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

import type { Rng } from '../../src/util/rng.js';

export const ENGINES = ['espeak-ng', 'mbrola', 'flite', 'festival', 'pico'] as const;
export type Engine = (typeof ENGINES)[number];

export interface Voice {
  engine: Engine;
  /** Engine-specific voice name: espeak-ng accent, mbrola database, flite/festival voice, pico language. */
  name: string;
}

/** `engine:name`, the voice id used in manifests and summaries. */
export function voiceId(v: Voice): string {
  return `${v.engine}:${v.name}`;
}

/** Training and validation voices, per engine. */
export const TRAIN_VOICES: Record<Engine, readonly string[]> = {
  'espeak-ng': ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'],
  mbrola: ['us1', 'us2', 'us3', 'en1'],
  flite: ['kal16', 'awb', 'slt'],
  festival: ['kal_diphone', 'cmu_us_slt_arctic_hts'],
  pico: ['en-US', 'en-GB'],
};

/** Held-out voices: the test split is spoken by these only, and they never appear in training. */
export const TEST_VOICES: readonly Voice[] = [
  { engine: 'flite', name: 'rms' },
  { engine: 'festival', name: 'ked_diphone' },
];

/** Every voice the builder knows (training and held-out). */
export const KNOWN_VOICES: Record<Engine, readonly string[]> = {
  'espeak-ng': TRAIN_VOICES['espeak-ng'],
  mbrola: TRAIN_VOICES.mbrola,
  flite: [...TRAIN_VOICES.flite, 'rms'],
  festival: [...TRAIN_VOICES.festival, 'ked_diphone'],
  pico: TRAIN_VOICES.pico,
};

/**
 * Default engine weights for sampling training/validation voices (normalized over the engines in
 * use; within an engine voices are uniform). The recorded-speaker voices (mbrola, flite, festival,
 * pico) sound far more natural than plain espeak-ng, so they get most of the mass; festival is the
 * slowest engine, so it gets a little less.
 */
export const DEFAULT_ENGINE_WEIGHTS: Record<Engine, number> = {
  'espeak-ng': 0.2,
  mbrola: 0.25,
  flite: 0.2,
  festival: 0.15,
  pico: 0.2,
};

/**
 * espeak-ng voice variants drawn for plain espeak-ng voices ('' = the accent's default voice).
 * Robotic, whispering and croaking variants are left out.
 */
export const DEFAULT_ESPEAK_VARIANTS: readonly string[] = [
  '', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'f1', 'f2', 'f3', 'f4', 'f5',
  'klatt', 'klatt2', 'klatt3', 'klatt4', 'Alex', 'Andy', 'Annie', 'aunty', 'belinda', 'benjamin',
  'caleb', 'david', 'ed', 'edward', 'Gene', 'john', 'linda', 'max', 'Michael', 'Mike', 'norbert',
  'paul', 'quincy', 'rob', 'robert', 'steph', 'travis', 'victor', 'zac', 'grandma', 'grandpa',
  'announcer',
];

/** Per-engine prosody ranges (drawn uniformly per utterance). */
export const PROSODY = {
  /** espeak-ng words per minute (default 175) and pitch 0-99 (default 50). */
  espeak: { rate: [130, 200], pitch: [25, 75] },
  /** mbrola through espeak-ng: narrower, the diphone voices degrade at extremes. */
  mbrola: { rate: [140, 195], pitch: [35, 65] },
  /** flite `duration_stretch` and festival `Duration_Stretch` (1 = default tempo). */
  stretch: [0.87, 1.15],
  /** pico SSML `<speed level>` and `<pitch level>` in percent. */
  pico: { speed: [85, 115], pitch: [90, 110] },
} as const;

/**
 * Everything an engine needs to speak one utterance. `rate` is the tempo relative to the engine's
 * default (>1 faster); `pitch` is relative too (absent where the engine's pitch is not varied).
 */
export interface Rendering {
  voice: Voice;
  /** espeak-ng variant (`m3`, `f2`, `klatt`, ...); '' for the accent's default voice. */
  variant?: string;
  /** Engine parameters as passed: espeak-ng `-s`/`-p`; flite/festival stretch; pico speed/pitch %. */
  params: Record<string, number>;
  rate: number;
  pitch?: number;
}

/** Parse a voice list: `espeak-ng` (all its training voices), `flite:slt`, `mbrola:us1`, ... */
export function parseVoiceList(list: string, pool: 'train' | 'all' = 'train'): Voice[] {
  const out: Voice[] = [];
  const seen = new Set<string>();
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [engineRaw, name] = raw.split(':', 2) as [string, string | undefined];
    const engine = (engineRaw === 'espeak' ? 'espeak-ng' : engineRaw) as Engine;
    if (!ENGINES.includes(engine)) {
      throw new Error(`unknown engine "${engineRaw}" in voice "${raw}" (engines: ${ENGINES.join(', ')})`);
    }
    const names = name === undefined ? (pool === 'train' ? TRAIN_VOICES[engine] : KNOWN_VOICES[engine]) : [name];
    for (const n of names) {
      if (!KNOWN_VOICES[engine].includes(n)) {
        throw new Error(`unknown voice "${engine}:${n}" (known: ${KNOWN_VOICES[engine].map((k) => `${engine}:${k}`).join(', ')})`);
      }
      const v: Voice = { engine, name: n };
      if (!seen.has(voiceId(v))) {
        seen.add(voiceId(v));
        out.push(v);
      }
    }
  }
  return out;
}

/** Parse `espeak-ng=0.2,mbrola=0.25,...` over the defaults. */
export function parseEngineWeights(list: string | undefined): Record<Engine, number> {
  const w: Record<Engine, number> = { ...DEFAULT_ENGINE_WEIGHTS };
  if (!list) return w;
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)=([0-9.]+)$/.exec(item);
    const engine = (m?.[1] === 'espeak' ? 'espeak-ng' : m?.[1]) as Engine | undefined;
    if (!m || !engine || !ENGINES.includes(engine) || !Number.isFinite(Number(m[2]))) {
      throw new Error(`bad engine weight "${item}" (expected ENGINE=NUMBER, engines: ${ENGINES.join(', ')})`);
    }
    w[engine] = Number(m[2]);
  }
  return w;
}

const uniform = (rng: Rng, [lo, hi]: readonly [number, number]): number => lo + (hi - lo) * rng();
const uniformInt = (rng: Rng, [lo, hi]: readonly [number, number]): number => lo + Math.floor((hi - lo + 1) * rng());
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Draw one voice: an engine by weight (among the engines present in `voices`), then a voice of
 * that engine uniformly. `weights` undefined: all voices equally likely.
 */
export function pickVoice(rng: Rng, voices: readonly Voice[], weights?: Record<Engine, number>): Voice {
  if (voices.length === 0) throw new Error('no voices to choose from');
  if (!weights) return voices[Math.floor(rng() * voices.length)] as Voice;
  const engines = ENGINES.filter((e) => voices.some((v) => v.engine === e));
  const total = engines.reduce((s, e) => s + Math.max(0, weights[e]), 0);
  let engine = engines[0] as Engine;
  if (total > 0) {
    let r = rng() * total;
    for (const e of engines) {
      r -= Math.max(0, weights[e]);
      if (r < 0) {
        engine = e;
        break;
      }
    }
  } else {
    engine = engines[Math.floor(rng() * engines.length)] as Engine;
  }
  const mine = voices.filter((v) => v.engine === engine);
  return mine[Math.floor(rng() * mine.length)] as Voice;
}

/** Draw the engine parameters (variant, rate, pitch) for one utterance of `voice`. */
export function drawRendering(rng: Rng, voice: Voice, espeakVariants: readonly string[]): Rendering {
  switch (voice.engine) {
    case 'espeak-ng': {
      const variant = espeakVariants.length ? (espeakVariants[Math.floor(rng() * espeakVariants.length)] as string) : '';
      const s = uniformInt(rng, PROSODY.espeak.rate);
      const p = uniformInt(rng, PROSODY.espeak.pitch);
      return { voice, variant, params: { s, p }, rate: round3(s / 175), pitch: round3(p / 50) };
    }
    case 'mbrola': {
      const s = uniformInt(rng, PROSODY.mbrola.rate);
      const p = uniformInt(rng, PROSODY.mbrola.pitch);
      return { voice, params: { s, p }, rate: round3(s / 175), pitch: round3(p / 50) };
    }
    case 'flite':
    case 'festival': {
      const stretch = round3(uniform(rng, PROSODY.stretch));
      return { voice, params: { stretch }, rate: round3(1 / stretch) };
    }
    case 'pico': {
      const speed = uniformInt(rng, PROSODY.pico.speed);
      const pitch = uniformInt(rng, PROSODY.pico.pitch);
      return { voice, params: { speed, pitch }, rate: round3(speed / 100), pitch: round3(pitch / 100) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Installation checks

/** Full path of an executable on PATH, or null. */
export function which(cmd: string, envPath = process.env['PATH'] ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The executables each engine needs (besides sox, which every build needs). */
export function engineCommands(engine: Engine): string[] {
  switch (engine) {
    case 'espeak-ng':
      return ['espeak-ng'];
    case 'mbrola':
      return ['espeak-ng', 'mbrola'];
    case 'flite':
      return ['flite'];
    case 'festival':
      return ['festival'];
    case 'pico':
      return ['pico2wave'];
  }
}

let fliteVoices: string[] | null = null;

/** Why `voice` cannot be used here, or null when it is installed. */
export function voiceProblem(voice: Voice): string | null {
  const missing = engineCommands(voice.engine).filter((c) => !which(c));
  if (missing.length) return `${missing.join(', ')} not installed`;
  switch (voice.engine) {
    case 'espeak-ng':
      return null;
    case 'mbrola': {
      const db = path.join('/usr/share/mbrola', voice.name, voice.name);
      return existsSync(db) ? null : `mbrola voice ${voice.name} not installed`;
    }
    case 'flite': {
      if (!fliteVoices) {
        try {
          const out = execFileSync('flite', ['-lv'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
          fliteVoices = out.replace(/^.*?:/, '').trim().split(/\s+/);
        } catch {
          fliteVoices = [];
        }
      }
      return fliteVoices.includes(voice.name) ? null : `flite has no voice ${voice.name}`;
    }
    case 'festival': {
      const root = '/usr/share/festival/voices';
      let found = false;
      try {
        found = readdirSync(root).some((lang) => existsSync(path.join(root, lang, voice.name)));
      } catch {
        found = false;
      }
      return found ? null : `festival voice ${voice.name} not installed`;
    }
    case 'pico':
      return existsSync(`/usr/share/pico/lang/${voice.name}_ta.bin`) ? null : `pico language ${voice.name} not installed`;
  }
}
