/**
 * koe benchmark (`npm run bench`, after `npx tsc -p tsconfig.json`).
 *
 * One run on the backend in use (initBackend: auto, or `--backend` / KOE_BACKEND) measures:
 *  - the training step (gradients + global-norm clipping + Adam) of the reference model, with
 *    the fast kernels and with the automatic-gradient reference kernels, and their ratio;
 *  - greedy decoding of a synthesized 10 s utterance (real-time factor), and the whole
 *    features + decoding pipeline;
 *  - MFCC (+ deltas) extraction speed, meyda and js engines, in multiples of real time;
 *  - memory: tf.memory() after a step and at the peak inside a step, process RSS.
 * It prints a markdown table (targets beside the figures, for the wasm backend) and, as the
 * last line, every raw figure as one JSON object. A missed target never makes it exit non-zero.
 *
 * Adding a figure: return one more `Measurement` from a benchmark, or add an entry to
 * `BENCHMARKS`. Each measurement carries its own key, unit, optional target and samples.
 *
 * Options: --backend auto|tensorflow|wasm|cpu   --steps N (timed training steps, default 5)
 *          --warmup N (untimed steps first, default 2; the last one is profiled for peak memory)
 *          --runs N (timed decoding / feature runs, default 3)   --seed N
 *          --breakdown (also time the parts of the fast step: encoder, decoder side, update)
 *          --only training,decoding,breakdown (run just these)
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../src/backend.js';
import { greedyDecode } from '../src/decode/greedy.js';
import {
  DEFAULT_FEATURE_CONFIG,
  computeNormStats,
  extractFeatures,
  featureDim,
  normalize,
  type FeatureMatrix,
  type MfccEngine,
} from '../src/features/index.js';
import type { Frames } from '../src/model/batch.js';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config.js';
import { fastKernels, referenceKernels, type Kernels } from '../src/model/kernels.js';
import { Seq2Seq } from '../src/model/seq2seq.js';
import { EOS, Vocabulary } from '../src/model/vocab.js';
import { Adam } from '../src/train/adam.js';
import { layoutOf, weightsChecksum } from '../src/train/parallel/exchange.js';
import { GradientPool } from '../src/train/parallel/pool.js';
import { applyGradients, computeGradients } from '../src/train/step.js';
import { makeRng, type Rng } from '../src/util/rng.js';
import { tidyKeep } from '../src/util/tidy.js';

// ---------------------------------------------------------------------------------------------
// The reference workload
// ---------------------------------------------------------------------------------------------

/** What the brief calls the reference configuration; checked against DEFAULT_MODEL_CONFIG. */
const REFERENCE_SHAPE = {
  inputDim: 39,
  encoderLayers: 2,
  encoderUnits: 128,
  timeReduction: 4,
  decoderUnits: 128,
  attentionDim: 128,
} as const satisfies Partial<ModelConfig>;

/** The benchmarked model: DEFAULT_MODEL_CONFIG with the reference shape pinned (so a change of default cannot silently move the benchmark). */
const MODEL_CONFIG: ModelConfig = { ...DEFAULT_MODEL_CONFIG, ...REFERENCE_SHAPE };

const TRAIN = {
  batch: 16,
  frames: 300,
  targetChars: 30,
  teacherForcing: 0.9,
  labelSmoothing: 0.1, // the trainer's default
  learningRate: 1e-3,
  clipNorm: 5,
} as const;

const AUDIO_SECONDS = 10;
const SAMPLE_RATE = DEFAULT_FEATURE_CONFIG.sampleRate;
/** Characters decoded for 10 s of speech: read speech runs at ~15 characters/s. */
const TYPICAL_CHARS = 150;

// ---------------------------------------------------------------------------------------------
// Measurements and the report
// ---------------------------------------------------------------------------------------------

interface Target {
  op: '<=' | '>=';
  value: number;
}

interface Measurement {
  /** Stable identifier for the JSON line. */
  key: string;
  label: string;
  value: number;
  unit: string;
  /** Decimals in the table. */
  digits: number;
  target?: Target;
  /** Raw timed samples, when the value is a median. */
  samples?: number[];
  /** Short context for the table's last column. */
  detail?: string;
  /** Anything else worth keeping in the JSON. */
  extra?: Record<string, unknown>;
}

interface Context {
  backend: BackendInfo;
  steps: number;
  warmup: number;
  runs: number;
  seed: number;
  /** Also time the parts of the fast training step (--breakdown). */
  breakdown: boolean;
  /** Run only these benchmarks (--only id,id). */
  only?: string[];
  notes: string[];
}

interface Benchmark {
  /** Short name for --only. */
  id: string;
  name: string;
  /** Run only when this says so (default: always). */
  enabled?(ctx: Context): boolean;
  run(ctx: Context): Promise<Measurement[]> | Measurement[];
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(digits);
}

const MB = 1024 * 1024;
const mib = (bytes: number): number => bytes / MB;

function load1(): number {
  return os.loadavg()[0] as number;
}

function spread(xs: readonly number[], digits: number, unit: string): string {
  if (xs.length === 0) return '';
  return `median of ${xs.length} (min ${fmt(Math.min(...xs), digits)}, max ${fmt(Math.max(...xs), digits)} ${unit})`;
}

function passes(m: Measurement): boolean | undefined {
  if (!m.target) return undefined;
  return m.target.op === '<=' ? m.value <= m.target.value : m.value >= m.target.value;
}

/** Bytes of the wasm backend's linear memory: it only grows, so this is its high-water mark. */
function wasmHeapBytes(): number | undefined {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength;
}

/**
 * Whether a tf.profile entry is a kernel of the active backend. Custom-gradient ops are
 * listed too, under the name of their scope, around the kernels they run.
 */
function isKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function processCpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Workload data
// ---------------------------------------------------------------------------------------------

/** One standard-normal value (features are normalized to zero mean, unit variance). */
function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function randomBatch(rng: Rng, vocabSize: number): { frames: Frames[]; targets: number[][] } {
  const dim = MODEL_CONFIG.inputDim;
  const frames = Array.from({ length: TRAIN.batch }, () => {
    const data = new Float32Array(TRAIN.frames * dim);
    for (let i = 0; i < data.length; i++) data[i] = gaussian(rng);
    return { frames: TRAIN.frames, dim, data };
  });
  // Character ids only: EOS + 1 .. vocabSize - 1.
  const targets = Array.from({ length: TRAIN.batch }, () =>
    Array.from({ length: TRAIN.targetChars }, () => EOS + 1 + Math.floor(rng() * (vocabSize - EOS - 1))),
  );
  return { frames, targets };
}

/**
 * 10 s of speech-like audio at 16 kHz: a voiced source (harmonics of a gliding pitch) shaped
 * by syllable-rate envelopes and moving formant-like emphasis, with noise bursts and
 * background noise. Only the work done on it matters here, not what it says.
 */
function synthesizeAudio(seconds: number, rng: Rng): Float32Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const out = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE;
    const f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.3 * t) + 10 * Math.sin(2 * Math.PI * 2.1 * t);
    phase += (2 * Math.PI * f0) / SAMPLE_RATE;
    const formant = 700 + 500 * Math.sin(2 * Math.PI * 1.7 * t);
    let voiced = 0;
    for (let k = 1; k <= 20; k++) {
      const fk = k * f0;
      const emphasis = 1 / (1 + ((fk - formant) / 300) ** 2) + 0.3 / k;
      voiced += emphasis * Math.sin(k * phase);
    }
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 2; // ~4 syllables/s
    const fricative = Math.max(0, Math.sin(2 * Math.PI * 4 * t + Math.PI)) ** 8; // noise between them
    out[i] = 0.08 * syllable * voiced + 0.15 * fricative * (2 * rng() - 1) + 0.003 * (2 * rng() - 1);
  }
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  for (let i = 0; i < n; i++) out[i] = ((out[i] as number) / peak) * 0.7;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------------------------

interface StepTimes {
  wallMs: number[];
  cpuMs: number[];
  warmupMs: number[];
  loss: number;
  sampledPerStep: number;
  /** tf.memory() after the last timed step. */
  bytesAfter: number;
  tensorsAfter: number;
  /** Highest tf.memory().numBytes inside the profiled warm-up step. */
  peakBytes?: number;
  kernelsPerStep?: number;
  /** Process RSS and wasm heap right after the warm-up steps (before the other kernels ran). */
  rssAfterWarmup: number;
  wasmHeapAfterWarmup?: number;
  load: number;
}

/** Training steps of one kernel flavour on a fixed batch: untimed warm-up, then timed steps one at a time. */
class StepRunner {
  readonly times: StepTimes;
  private readonly model: Seq2Seq;
  private readonly data: { frames: Frames[]; targets: number[][] };
  private sampled = 0;
  private loads: number[] = [];

  constructor(
    model: Seq2Seq,
    kernels: Kernels,
    private readonly adam: Adam,
    private readonly rng: Rng,
  ) {
    this.model = model.withKernels(kernels);
    this.data = randomBatch(rng, MODEL_CONFIG.vocabSize);
    this.times = { wallMs: [], cpuMs: [], warmupMs: [], loss: Number.NaN, sampledPerStep: 0, bytesAfter: 0, tensorsAfter: 0, rssAfterWarmup: 0, load: 0 };
  }

  private step(): void {
    const g = tidyKeep(() =>
      computeGradients(this.model, this.data.frames, this.data.targets, {
        teacherForcing: TRAIN.teacherForcing,
        labelSmoothing: TRAIN.labelSmoothing,
        // Fresh coin flips every step, one stream per utterance.
        samplingSeeds: this.data.targets.map(() => Math.floor(this.rng() * 4294967296)),
      }),
    );
    applyGradients(this.model, this.adam, g.grads, TRAIN.learningRate, TRAIN.clipNorm);
    this.times.loss = g.loss;
    this.sampled += g.sampledInputs;
  }

  /** `count` untimed steps; the last one runs under tf.profile for the peak memory inside a step. */
  async warmUp(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      if (i === count - 1) {
        // Per-kernel bookkeeping makes a profiled step slower, which is why it is a warm-up step.
        const info = await tf.profile(() => this.step());
        this.times.peakBytes = info.peakBytes;
        this.times.kernelsPerStep = info.kernels.filter((k) => isKernel(k.name)).length;
      } else {
        this.step();
      }
      this.times.warmupMs.push(performance.now() - t0);
    }
    this.times.rssAfterWarmup = process.memoryUsage().rss;
    this.times.wasmHeapAfterWarmup = wasmHeapBytes();
    this.sampled = 0;
  }

  timedStep(): void {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    this.step();
    this.times.wallMs.push(performance.now() - t0);
    this.times.cpuMs.push(processCpuMs(c0));
    this.times.bytesAfter = tf.memory().numBytes;
    this.times.tensorsAfter = tf.memory().numTensors;
    this.loads.push(load1());
    this.times.sampledPerStep = this.sampled / this.times.wallMs.length;
    this.times.load = median(this.loads);
  }
}

function stepMeasurement(key: string, label: string, r: StepTimes, target?: Target): Measurement {
  const wall = r.wallMs.map((x) => x / 1000);
  const cpu = median(r.cpuMs) / 1000;
  return {
    key,
    label,
    value: median(wall),
    unit: 's',
    digits: 2,
    target,
    samples: wall,
    detail: `${spread(wall, 2, 's')}; process CPU ${fmt(cpu, 2)} s/step; warm-up ${r.warmupMs.map((x) => fmt(x / 1000, 1)).join(', ')} s; load ${fmt(r.load, 2)}`,
    extra: {
      cpuSeconds: r.cpuMs.map((x) => x / 1000),
      warmupSeconds: r.warmupMs.map((x) => x / 1000),
      loss: r.loss,
      sampledInputsPerStep: r.sampledPerStep,
      load1: r.load,
    },
  };
}

const trainingBenchmark: Benchmark = {
  id: 'training',
  name: 'training step',
  async run(ctx) {
    const vocab = new Vocabulary();
    if (vocab.size !== MODEL_CONFIG.vocabSize) ctx.notes.push(`vocabulary has ${vocab.size} symbols, model config ${MODEL_CONFIG.vocabSize}`);
    const model = Seq2Seq.create(MODEL_CONFIG, ctx.seed);
    const adam = new Adam();
    const fastRunner = new StepRunner(model, fastKernels, adam, makeRng(ctx.seed + 1));
    const refRunner = new StepRunner(model, referenceKernels, adam, makeRng(ctx.seed + 2));
    await fastRunner.warmUp(ctx.warmup);
    await refRunner.warmUp(ctx.warmup);
    // Alternate the two so that both see the same load on a shared machine (the ratio stays fair).
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < ctx.steps; i++) {
      fastRunner.timedStep();
      refRunner.timedStep();
    }
    const fast = fastRunner.times;
    const ref = refRunner.times;
    const leak = ref.tensorsAfter !== tensorsBefore;
    ctx.notes.push(
      `Training data: ${TRAIN.batch} random N(0,1) utterances x ${TRAIN.frames} frames x ${MODEL_CONFIG.inputDim}, ` +
        `${TRAIN.targetChars} random characters each; teacher forcing ${TRAIN.teacherForcing} ` +
        `(scheduled sampling fed ${fmt(fast.sampledPerStep, 1)} model predictions per fast step), label smoothing ${TRAIN.labelSmoothing}, ` +
        `clip ${TRAIN.clipNorm}, Adam lr ${TRAIN.learningRate}. Model: ${model.params.count.toLocaleString('en-US')} parameters.`,
    );
    if (leak) ctx.notes.push(`Tensor leak: ${tensorsBefore} -> ${ref.tensorsAfter} live tensors over the timed steps.`);
    const rows: Measurement[] = [
      stepMeasurement('step.fast.s', 'Training step, fast kernels (median)', fast, { op: '<=', value: 1.8 }),
      stepMeasurement('step.reference.s', 'Training step, automatic gradients (median)', ref),
      {
        key: 'step.ratio',
        label: 'Speed-up: automatic / fast',
        value: median(ref.wallMs) / median(fast.wallMs),
        unit: 'x',
        digits: 1,
        target: { op: '>=', value: 5 },
        detail: `process CPU ratio ${fmt(median(ref.cpuMs) / median(fast.cpuMs), 1)}x`,
      },
      {
        key: 'mem.tf.afterStep.MiB',
        label: 'tf.memory().numBytes after a step',
        value: mib(fast.bytesAfter),
        unit: 'MiB',
        digits: 1,
        detail: `weights + Adam moments; ${fast.tensorsAfter} live tensors (${leak ? 'LEAK, see notes' : 'no leak over the timed steps'})`,
        extra: { bytes: fast.bytesAfter, tensors: fast.tensorsAfter },
      },
    ];
    for (const [name, r] of [['fast', fast], ['reference', ref]] as const) {
      if (r.peakBytes !== undefined) {
        rows.push({
          key: `mem.tf.peakInStep.${name}.MiB`,
          label: `tf.memory() peak inside a step, ${name === 'fast' ? 'fast kernels' : 'automatic gradients'}`,
          value: mib(r.peakBytes),
          unit: 'MiB',
          digits: 0,
          detail: `tf.profile of the last warm-up step; ${r.kernelsPerStep} kernel calls per step`,
          extra: { bytes: r.peakBytes, kernelCalls: r.kernelsPerStep },
        });
      }
    }
    rows.push({
      key: 'mem.rss.afterFastSteps.MiB',
      label: 'Process RSS after fast-kernel steps',
      value: mib(fast.rssAfterWarmup),
      unit: 'MiB',
      digits: 0,
      detail:
        `before any automatic-gradient step` +
        (fast.wasmHeapAfterWarmup !== undefined ? `; wasm heap ${fmt(mib(fast.wasmHeapAfterWarmup), 0)} MiB (it only grows)` : ''),
      extra: { rss: fast.rssAfterWarmup, wasmHeap: fast.wasmHeapAfterWarmup },
    });
    const rssEnd = process.memoryUsage().rss;
    const wasmEnd = wasmHeapBytes();
    rows.push({
      key: 'mem.rss.afterTraining.MiB',
      label: 'Process RSS after all training steps',
      value: mib(rssEnd),
      unit: 'MiB',
      digits: 0,
      detail: `after automatic-gradient steps too` + (wasmEnd !== undefined ? `; wasm heap ${fmt(mib(wasmEnd), 0)} MiB` : ''),
      extra: { rss: rssEnd, wasmHeap: wasmEnd },
    });
    model.dispose();
    adam.dispose();
    return rows;
  },
};

/** Wall and process-CPU times (ms) of `runs` calls after one untimed call; also returns the last result. */
function timeRuns<T>(runs: number, fn: () => T): { ms: number[]; cpuMs: number[]; result: T } {
  let result = fn();
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = fn();
    ms.push(performance.now() - t0);
    cpuMs.push(processCpuMs(c0));
  }
  return { ms, cpuMs, result };
}

const featuresAndDecodingBenchmark: Benchmark = {
  id: 'decoding',
  name: 'features and decoding',
  run(ctx) {
    const rows: Measurement[] = [];
    const audio = synthesizeAudio(AUDIO_SECONDS, makeRng(ctx.seed + 3));
    const cfg = DEFAULT_FEATURE_CONFIG;

    // Features: MFCC + deltas + delta-deltas (what the model is fed), per engine.
    const feats: Partial<Record<MfccEngine, FeatureMatrix>> = {};
    const featureMs: Partial<Record<MfccEngine, number>> = {};
    for (const engine of ['meyda', 'js'] as const) {
      const { ms, cpuMs, result } = timeRuns(Math.max(3, ctx.runs), () => extractFeatures(audio, cfg, { engine }));
      feats[engine] = result;
      const t = median(ms);
      featureMs[engine] = t;
      rows.push({
        key: `mfcc.${engine}.xRealtime`,
        label: `MFCC+Δ+ΔΔ extraction, '${engine}' engine`,
        value: (AUDIO_SECONDS * 1000) / t,
        unit: 'x real time',
        digits: 0,
        target: { op: '>=', value: 50 },
        samples: ms.map((x) => (AUDIO_SECONDS * 1000) / x),
        detail: `${fmt(t, 1)} ms for ${AUDIO_SECONDS} s (${result.frames} frames x ${result.dim}); ${spread(ms, 1, 'ms')}; CPU ${fmt(median(cpuMs), 1)} ms; load ${fmt(load1(), 2)}`,
        extra: { ms, cpuMs, frames: result.frames },
      });
    }
    const meydaFeats = feats.meyda as FeatureMatrix;
    if (meydaFeats.dim !== featureDim(cfg) || meydaFeats.dim !== MODEL_CONFIG.inputDim) {
      ctx.notes.push(`feature dim ${meydaFeats.dim} does not match the model input ${MODEL_CONFIG.inputDim}`);
    }
    const utterance = normalize(meydaFeats, computeNormStats([meydaFeats]));

    // Decoding: an untrained model would stop at a random early EOS, so EOS is made impossible
    // (its output bias set very low) and the length is fixed: the work per character is unchanged.
    const model = Seq2Seq.create(MODEL_CONFIG, ctx.seed + 4);
    const vocab = new Vocabulary();
    const b2 = model.params.get('out.b2');
    const bias = b2.dataSync().slice();
    bias[EOS] = -1e4;
    tf.tidy(() => b2.assign(tf.tensor1d(bias)));

    const decodeRow = (key: string, label: string, chars: number, target: Target | undefined, why: string): number => {
      const { ms, cpuMs, result } = timeRuns(ctx.runs, () => greedyDecode(model, vocab, [utterance], { maxLength: chars }));
      const got = (result[0]?.ids.length ?? 0) as number;
      const t = median(ms);
      rows.push({
        key,
        label,
        value: t / 1000 / AUDIO_SECONDS,
        unit: 'RTF',
        digits: 3,
        target,
        samples: ms.map((x) => x / 1000 / AUDIO_SECONDS),
        detail: `${fmt(t / 1000, 2)} s for ${AUDIO_SECONDS} s (${utterance.frames} frames, ${got} characters ${why}); ${spread(ms, 0, 'ms')}; CPU ${fmt(median(cpuMs), 0)} ms; load ${fmt(load1(), 2)}`,
        extra: { ms, cpuMs, characters: got, frames: utterance.frames },
      });
      return t;
    };
    const decodeMs = decodeRow('decode.greedy.rtf', 'Greedy decoding of 10 s, batch 1', TYPICAL_CHARS, { op: '<=', value: 0.05 }, '= 15 chars/s, typical read speech');
    const capChars = Math.ceil((utterance.frames / 100) * 25) + 10; // decode/hypothesis.ts defaultMaxLength
    decodeRow('decode.greedy.cap.rtf', 'Greedy decoding of 10 s, up to the length cap', capChars, { op: '<=', value: 0.05 }, 'the default cap: a model that never ends');
    const pipeline = (featureMs.meyda as number) + decodeMs;
    rows.push({
      key: 'pipeline.rtf',
      label: 'Features (meyda) + greedy decoding of 10 s',
      value: pipeline / 1000 / AUDIO_SECONDS,
      unit: 'RTF',
      digits: 3,
      detail: `${fmt(featureMs.meyda as number, 0)} ms features + ${fmt(decodeMs, 0)} ms decoding (${TYPICAL_CHARS} characters); with 'js' features ${fmt(((featureMs.js as number) + decodeMs) / 1000 / AUDIO_SECONDS, 3)}`,
    });
    ctx.notes.push(
      `Audio: ${AUDIO_SECONDS} s of synthesized 16 kHz speech-like sound (gliding-pitch harmonics, syllable envelopes, noise bursts); ` +
        `decoded by an untrained reference-config model with EOS suppressed, so every run decodes a fixed number of characters.`,
    );
    const rss = process.memoryUsage().rss;
    const maxRss = process.resourceUsage().maxRSS * 1024;
    rows.push({
      key: 'mem.rss.peak.MiB',
      label: 'Peak process RSS so far',
      value: mib(maxRss),
      unit: 'MiB',
      digits: 0,
      detail: `getrusage maxrss; RSS now ${fmt(mib(rss), 0)} MiB`,
      extra: { maxRssBytes: maxRss, rssBytes: rss },
    });
    model.dispose();
    return rows;
  },
};

/**
 * Where the fast training step spends its time (opt-in: --breakdown): the encoder alone,
 * forward and forward + backward, against the whole loss; the decoder side (attention,
 * decoder LSTM, output layers, loss) is the difference. One extra profiled run of each part
 * counts its kernel calls and sums their kernel time (on an idle machine, wall time minus
 * kernel time is roughly tfjs's per-operation bookkeeping in JavaScript).
 */
const stepBreakdownBenchmark: Benchmark = {
  id: 'breakdown',
  name: 'training step breakdown',
  enabled: (ctx) => ctx.breakdown,
  async run(ctx) {
    const model = Seq2Seq.create(MODEL_CONFIG, ctx.seed);
    const adam = new Adam();
    const rng = makeRng(ctx.seed + 5);
    const data = randomBatch(rng, MODEL_CONFIG.vocabSize);
    const encoderVars = [...model.params.vars].filter(([name]) => name.startsWith('enc.')).map(([, v]) => v);
    // Fixed random weights on the encoder output stand in for the gradient arriving from the decoder.
    let probe: tf.Tensor | undefined;
    const encoderLoss = (): tf.Scalar => {
      const states = model.encode(data.frames).states;
      probe ??= tf.keep(tf.randomNormal(states.shape, 0, 1, 'float32', ctx.seed));
      return tf.sum(tf.mul(states, probe));
    };
    const lossOpts = () => ({
      teacherForcing: TRAIN.teacherForcing,
      labelSmoothing: TRAIN.labelSmoothing,
      samplingSeeds: data.targets.map(() => Math.floor(rng() * 4294967296)),
    });
    const parts: { key: string; label: string; fn: () => void }[] = [
      { key: 'encoder.forward', label: 'encoder forward', fn: () => tf.tidy(() => void model.encode(data.frames).states.dataSync()) },
      {
        key: 'encoder.fwdbwd',
        label: 'encoder forward + backward',
        fn: () =>
          tf.tidy(() => {
            const { grads } = tf.variableGrads(encoderLoss, encoderVars);
            (Object.values(grads)[0] as tf.Tensor).dataSync();
          }),
      },
      { key: 'loss.forward', label: 'whole loss, forward only', fn: () => tf.tidy(() => void model.loss(data.frames, data.targets, lossOpts()).loss.dataSync()) },
      {
        key: 'loss.fwdbwd',
        label: 'whole loss, forward + backward',
        fn: () => tf.dispose(Object.values(tidyKeep(() => computeGradients(model, data.frames, data.targets, lossOpts())).grads)),
      },
      {
        key: 'step',
        label: 'whole step (+ clipping + Adam)',
        fn: () => {
          const g = tidyKeep(() => computeGradients(model, data.frames, data.targets, lossOpts()));
          applyGradients(model, adam, g.grads, TRAIN.learningRate, TRAIN.clipNorm);
        },
      },
    ];
    const wall: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    const rows: Measurement[] = [];
    const profiles = new Map<string, { calls: number; kernelMs: number }>();
    for (const part of parts) {
      for (let i = 0; i < Math.max(1, ctx.warmup); i++) part.fn();
      const profile = await tf.profile(() => part.fn());
      const kernels = profile.kernels.filter((k) => isKernel(k.name));
      const kernelMs = kernels.reduce((sum, k) => sum + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0);
      profiles.set(part.key, { calls: kernels.length, kernelMs });
    }
    // Round-robin over the parts so that all of them see the same load (their differences stay meaningful).
    const w = new Map<string, number[]>(parts.map((p) => [p.key, []]));
    const c = new Map<string, number[]>(parts.map((p) => [p.key, []]));
    for (let i = 0; i < ctx.steps; i++) {
      for (const part of parts) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        part.fn();
        w.get(part.key)?.push((performance.now() - t0) / 1000);
        c.get(part.key)?.push(processCpuMs(c0) / 1000);
      }
    }
    for (const part of parts) {
      const ws = w.get(part.key) as number[];
      const cs = c.get(part.key) as number[];
      const prof = profiles.get(part.key) as { calls: number; kernelMs: number };
      wall[part.key] = median(ws);
      cpu[part.key] = median(cs);
      rows.push({
        key: `breakdown.${part.key}.s`,
        label: `Fast step part: ${part.label}`,
        value: median(ws),
        unit: 's',
        digits: 3,
        samples: ws,
        detail: `CPU ${fmt(median(cs), 3)} s; ${prof.calls} kernel calls, ${fmt(prof.kernelMs / 1000, 3)} s inside kernels (profiled run); load ${fmt(load1(), 2)}`,
        extra: { cpuSeconds: cs, kernelCalls: prof.calls, kernelSeconds: prof.kernelMs / 1000 },
      });
    }
    const diff = (a: string, b: string): { w: number; c: number } => ({ w: (wall[a] as number) - (wall[b] as number), c: (cpu[a] as number) - (cpu[b] as number) });
    for (const [key, label, d] of [
      ['decoder.forward', 'decoder side, forward (difference)', diff('loss.forward', 'encoder.forward')],
      ['decoder.fwdbwd', 'decoder side, forward + backward (difference)', diff('loss.fwdbwd', 'encoder.fwdbwd')],
      ['update', 'clipping + Adam (difference)', diff('step', 'loss.fwdbwd')],
    ] as const) {
      rows.push({ key: `breakdown.${key}.s`, label: `Fast step part: ${label}`, value: d.w, unit: 's', digits: 3, detail: `CPU ${fmt(d.c, 3)} s`, extra: { cpuSeconds: d.c } });
    }
    probe?.dispose();
    model.dispose();
    adam.dispose();
    return rows;
  },
};


/**
 * Data-parallel training throughput (issue: use both cores): the same reference batch, one
 * worker (this thread) against N replicas (this thread + N - 1 worker threads, each with its own
 * backend instance), and where the data-parallel step's time goes, phase by phase.
 */
const dataParallelBenchmark: Benchmark = {
  id: 'parallel',
  name: 'Data-parallel training throughput',
  async run(ctx) {
    const workers = Math.max(2, Math.min(os.availableParallelism(), 4));
    const rng = makeRng(ctx.seed + 7);
    const data = randomBatch(rng, MODEL_CONFIG.vocabSize);
    // The DDP convention (batch size per worker): every replica gets a whole reference batch.
    const wide = Array.from({ length: workers }, (_, i) => (i === 0 ? data : randomBatch(rng, MODEL_CONFIG.vocabSize)));
    const wideData = { frames: wide.flatMap((d) => d.frames), targets: wide.flatMap((d) => d.targets) };
    const seeds = (n = data.targets.length): number[] => Array.from({ length: n }, () => Math.floor(rng() * 4294967296));
    const options = { teacherForcing: TRAIN.teacherForcing, labelSmoothing: TRAIN.labelSmoothing };
    // Separate models: the pool's replicas follow only the updates made through the pool.
    const oneModel = Seq2Seq.create(MODEL_CONFIG, ctx.seed);
    const oneAdam = new Adam();
    const manyModel = Seq2Seq.create(MODEL_CONFIG, ctx.seed);
    const manyAdam = new Adam();
    const phases: Record<string, number[]> = {};
    const record = (key: string, ms: number): void => {
      (phases[key] ??= []).push(ms);
    };
    const single = async (): Promise<void> => {
      const t0 = performance.now();
      const g = tidyKeep(() => computeGradients(oneModel, data.frames, data.targets, { ...options, samplingSeeds: seeds() }));
      const t1 = performance.now();
      applyGradients(oneModel, oneAdam, g.grads, TRAIN.learningRate, TRAIN.clipNorm);
      record('one.compute', t1 - t0);
      record('one.apply', performance.now() - t1);
    };
    // A shard's gradients with the other cores idle: against the shard times of a parallel step,
    // this shows how much the cores slow each other when all compute.
    const shardData = { frames: data.frames.slice(0, TRAIN.batch / workers), targets: data.targets.slice(0, TRAIN.batch / workers) };
    const shardAlone = async (): Promise<void> => {
      const t0 = performance.now();
      const g = tidyKeep(() => computeGradients(oneModel, shardData.frames, shardData.targets, { ...options, samplingSeeds: seeds(shardData.targets.length) }));
      record('shard.alone', performance.now() - t0);
      tf.dispose(Object.values(g.grads));
    };
    const pool = await GradientPool.start(workers, manyModel, manyAdam, ctx.backend.name);
    const parallel = async (): Promise<void> => {
      const g = await pool.compute(data.frames, data.targets, seeds(), options);
      pool.apply(g.grads, TRAIN.learningRate, TRAIN.clipNorm);
      const t = pool.lastTimings;
      if (!t) return;
      for (const [k, v] of Object.entries(t.main)) if (k !== 'check') record(`main.${k}`, v);
      for (const w of t.workers) for (const [k, v] of Object.entries(w)) if (k !== 'check') record(`worker.${k}`, v);
    };
    const parallelWide = async (): Promise<void> => {
      const g = await pool.compute(wideData.frames, wideData.targets, seeds(wideData.targets.length), options);
      pool.apply(g.grads, TRAIN.learningRate, TRAIN.clipNorm);
    };
    const times: Record<'one' | 'many' | 'wide', number[]> = { one: [], many: [], wide: [] };
    for (let i = 0; i < ctx.warmup; i++) {
      await single();
      await parallel();
      await parallelWide();
    }
    for (const k of Object.keys(phases)) phases[k] = [];
    // Alternate so that all see the same load (the phases recorded are those of the same-batch runs).
    for (let i = 0; i < ctx.steps; i++) {
      for (const [key, fn] of [['one', single], ['many', parallel], ['wide', parallelWide]] as const) {
        const t0 = performance.now();
        await fn();
        times[key].push((performance.now() - t0) / 1000);
      }
      await shardAlone();
    }
    await pool.close();
    // The replicas' weight checksum runs every 10th step in training (on every replica at once).
    const layout = layoutOf(manyModel.params.vars);
    for (let i = 0; i < ctx.runs + 1; i++) {
      const t0 = performance.now();
      weightsChecksum(layout, manyModel.params.vars);
      if (i > 0) record('checksum', performance.now() - t0);
    }
    for (const x of [oneModel, manyModel, oneAdam, manyAdam]) x.dispose();
    const perSecond = (xs: number[]): number => TRAIN.batch / median(xs);
    const one = perSecond(times.one);
    const many = perSecond(times.many);
    const wideRate = (workers * TRAIN.batch) / median(times.wide);
    const phase = (key: string, label: string, detail: string): Measurement => {
      const xs = phases[key] ?? [];
      return { key: `parallel.phase.${key}.ms`, label: `Data-parallel step: ${label}`, value: median(xs), unit: 'ms', digits: 1, samples: xs, detail: `min ${fmt(Math.min(...xs), 1)} ms; ${detail}` };
    };
    const shard = `${TRAIN.batch / workers} of ${TRAIN.batch} utterances`;
    // The limit of this design on this machine: the ratio if exchanging gradients and the update cost nothing.
    const slowestShard = Math.max(median(phases['main.compute'] ?? []), median(phases['worker.compute'] ?? []));
    const ceiling = median(phases['one.compute'] ?? []) / slowestShard;
    const slowdown = slowestShard / median(phases['shard.alone'] ?? []);
    return [
      { key: 'parallel.1.utts_per_s', label: 'Training throughput, 1 worker', value: one, unit: 'utt/s', digits: 2, samples: times.one, detail: `median step ${fmt(median(times.one), 2)} s for ${TRAIN.batch} utterances; load ${fmt(load1(), 2)}` },
      { key: `parallel.${workers}.utts_per_s`, label: `Training throughput, ${workers} workers`, value: many, unit: 'utt/s', digits: 2, samples: times.many, detail: `median step ${fmt(median(times.many), 2)} s (this thread + ${workers - 1} worker threads, replicas updated in place); load ${fmt(load1(), 2)}` },
      { key: 'parallel.ratio', label: `Throughput ratio, ${workers} workers / 1`, value: many / one, unit: 'x', digits: 2, target: { op: '>=', value: 1.35 }, detail: `on ${os.availableParallelism()} cores, same ${TRAIN.batch}-utterance batch split ${workers} ways` },
      { key: 'parallel.ceiling', label: `Ceiling: ratio if the exchange and update were free`, value: ceiling, unit: 'x', digits: 2, detail: `whole-batch gradients on one core / the slower shard's gradients while all ${workers} cores compute` },
      { key: 'parallel.contention', label: 'Slow-down of a shard when all cores compute', value: slowdown, unit: 'x', digits: 2, detail: `the slower shard in a parallel step / the same-size shard computed with the other cores idle (${fmt(median(phases['shard.alone'] ?? []), 0)} ms)` },
      { key: `parallel.${workers}.wide.utts_per_s`, label: `Training throughput, ${workers} workers, ${TRAIN.batch} utterances each`, value: wideRate, unit: 'utt/s', digits: 2, samples: times.wide, detail: `median step ${fmt(median(times.wide), 2)} s for ${workers * TRAIN.batch} utterances (batch size per worker, the DDP convention)` },
      { key: 'parallel.wide.ratio', label: `Throughput ratio, ${workers} workers with a batch each / 1`, value: wideRate / one, unit: 'x', digits: 2, detail: 'the global batch grows with the workers' },
      phase('one.compute', '1 worker: gradients of the whole batch', `${TRAIN.batch} utterances`),
      phase('one.apply', '1 worker: clipping + Adam', 'for comparison with the replicas\' own'),
      phase('main.compute', 'this thread: gradients of its shard', shard),
      phase('worker.compute', 'worker thread: gradients of its shard', shard),
      phase('checksum', 'weight checksum (each replica, every 10th step)', 'verifies that the replicas are equal'),
      phase('main.write', 'gradients into the shared slot (each replica)', 'copy out of the backend into shared memory'),
      phase('main.wait', 'this thread waits for the workers', 'shard imbalance + message latency'),
      phase('main.reduce', 'sum of the slots (each replica, in parallel)', 'weighted by target characters'),
      phase('worker.reduce', 'sum of the slots in a worker thread', ''),
      phase('main.apply', 'clipping + Adam (each replica, in parallel)', 'no weights are broadcast'),
      phase('worker.apply', 'clipping + Adam in a worker thread', ''),
    ];
  },
};

/** Everything the run measures, in order. Append here to add a section. */
const BENCHMARKS: Benchmark[] = [trainingBenchmark, dataParallelBenchmark, featuresAndDecodingBenchmark, stepBreakdownBenchmark];

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got "${value}")`);
  return n;
}

function configCheck(): { matches: boolean; differences: string[] } {
  const differences = (Object.keys(REFERENCE_SHAPE) as (keyof typeof REFERENCE_SHAPE)[])
    .filter((k) => DEFAULT_MODEL_CONFIG[k] !== REFERENCE_SHAPE[k])
    .map((k) => `${k}: default ${DEFAULT_MODEL_CONFIG[k]}, reference ${REFERENCE_SHAPE[k]}`);
  return { matches: differences.length === 0, differences };
}

function describeModel(c: ModelConfig): string {
  return (
    `${c.encoderLayers}-layer pyramidal BiLSTM encoder (${c.encoderUnits} units per direction, time /${c.timeReduction}), ` +
    `${c.attention} attention (${c.attentionDim} wide${c.attention === 'location' ? `, kernel ${c.locationKernel}` : ''}), ` +
    `${c.decoderUnits}-unit LSTM decoder, ${c.outputDim}-unit output layer, ${c.vocabSize} symbols, ${c.inputDim} input features`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      breakdown: { type: 'boolean' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(`usage: npm run bench -- [--backend auto|tensorflow|wasm|cpu] [--steps N=5] [--warmup N=2] [--runs N=3] [--seed N=1] [--breakdown] [--only ${BENCHMARKS.map((b) => b.id).join(',')}]`);
    return;
  }
  const unknown = values.only?.split(',').filter((id) => !BENCHMARKS.some((b) => b.id === id.trim()));
  if (unknown?.length) throw new Error(`--only: unknown benchmark ${unknown.join(', ')} (choose from ${BENCHMARKS.map((b) => b.id).join(', ')})`);
  const backend = await initBackend(values.backend);
  const ctx: Context = {
    backend,
    steps: positiveInt('steps', values.steps, 5),
    warmup: positiveInt('warmup', values.warmup, 2, 0),
    runs: positiveInt('runs', values.runs, 3),
    seed: positiveInt('seed', values.seed, 1, 0),
    breakdown: values.breakdown === true || (values.only?.split(',').includes('breakdown') ?? false),
    only: values.only?.split(',').map((x) => x.trim()),
    notes: [],
  };
  const loadStart = os.loadavg();
  const started = performance.now();
  const check = configCheck();

  console.log(`# koe benchmark`);
  console.log('');
  console.log(
    `Backend: **${backend.name}** (requested ${backend.requested}${backend.fallbacks.length ? `; passed over: ${backend.fallbacks.join('; ')}` : ''}). ` +
      `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), tfjs ${tf.version.tfjs}.`,
  );
  console.log(`Model: ${describeModel(MODEL_CONFIG)}. DEFAULT_MODEL_CONFIG ${check.matches ? 'is' : 'is NOT'} the reference configuration${check.matches ? '' : ` (${check.differences.join('; ')})`}.`);
  console.log(`Load average at start: ${loadStart.map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min).`);
  console.log('');

  const rows: Measurement[] = [];
  for (const b of BENCHMARKS) {
    if (ctx.only ? !ctx.only.includes(b.id) : b.enabled && !b.enabled(ctx)) continue;
    const t0 = performance.now();
    process.stderr.write(`bench: ${b.name}...\n`);
    rows.push(...(await b.run(ctx)));
    process.stderr.write(`bench: ${b.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const loadEnd = os.loadavg();
  const targetsApply = backend.name === 'wasm';

  console.log('| Measurement | Value | Target (wasm) | Mark | Detail |');
  console.log('|---|---:|---:|---|---|');
  for (const m of rows) {
    const ok = passes(m);
    const target = m.target ? `${m.target.op} ${m.target.value}${m.unit === 's' ? ' s' : m.unit === 'x' ? 'x' : ''}` : '';
    const mark = ok === undefined ? '' : targetsApply ? (ok ? 'pass' : '**miss**') : ok ? '(pass)' : '(miss)';
    const unit = m.unit === 'x' ? 'x' : ` ${m.unit}`;
    console.log(`| ${m.label} | ${fmt(m.value, m.digits)}${unit} | ${target} | ${mark} | ${m.detail ?? ''} |`);
  }
  console.log('');
  const notes = [
    ...ctx.notes,
    `Load average at end: ${loadEnd.map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min) on ${os.cpus().length} CPUs; ` +
      `this process keeps about one core busy, so a 1-minute load near 1 means nothing else ran. Timings on a shared machine are noisy: ` +
      `compare "process CPU" with wall time to see how much was lost to other jobs.`,
    targetsApply
      ? 'Targets are for the wasm backend; a miss is reported, never an error.'
      : `Targets are defined for the wasm backend; on ${backend.name} the marks are shown in parentheses for reference only.`,
    `Run took ${((performance.now() - started) / 1000).toFixed(0)} s (steps ${ctx.steps}, warm-up ${ctx.warmup}, runs ${ctx.runs}).`,
  ];
  for (const n of notes) console.log(`- ${n}`);
  console.log('');

  const json = {
    bench: 'koe',
    version: 1,
    date: new Date().toISOString(),
    backend: backend.name,
    backendRequested: backend.requested,
    backendFallbacks: backend.fallbacks,
    node: process.version,
    tfjs: tf.version.tfjs,
    cpus: os.cpus().length,
    loadavgStart: loadStart,
    loadavgEnd: loadEnd,
    options: { steps: ctx.steps, warmup: ctx.warmup, runs: ctx.runs, seed: ctx.seed },
    model: MODEL_CONFIG,
    defaultConfigMatches: check.matches,
    train: TRAIN,
    targetsApply,
    measurements: rows.map((m) => ({
      key: m.key,
      label: m.label,
      value: m.value,
      unit: m.unit,
      ...(m.target ? { target: m.target, pass: passes(m) } : {}),
      ...(m.samples ? { samples: m.samples } : {}),
      ...(m.extra ? { extra: m.extra } : {}),
    })),
  };
  console.log(JSON.stringify(json));
}

await main();
