/**
 * `koe train`: the training loop. Bucketed batches, Adam with clipping and a learning-rate
 * schedule, scheduled teacher forcing, optional augmentation, validation CER/WER after each
 * epoch, atomic checkpoints and exact resumption, and a clear stop on a non-finite loss.
 */
import { appendFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { backendInfo } from '../backend.js';
import { ctcGreedyDecode } from '../decode/ctc-greedy.js';
import { greedyDecode } from '../decode/greedy.js';
import { evaluate, type EvalItem, type EvalReport } from '../eval/evaluate.js';
import { featureDim, normalize, sameFeatures, specAugment, type FeatureMatrix, type NormStats } from '../features/index.js';
import { loadModel, saveModel, type LoadedModel } from '../io/model-dir.js';
import type { ModelConfig } from '../model/config.js';
import { ModelParams } from '../model/params.js';
import { Seq2Seq, type StepLossOptions } from '../model/seq2seq.js';
import { teacherForcingProbability } from '../model/teacher-forcing.js';
import { Vocabulary } from '../model/vocab.js';
import { makeRng, type Rng } from '../util/rng.js';
import { tidyKeep } from '../util/tidy.js';
import { Adam } from './adam.js';
import { makeBatches } from './batches.js';
import { checkpointExists, readCheckpoint, writeCheckpoint, type EpochRecord, type TrainProgress } from './checkpoint.js';
import { checkCtcHead, learningRateAt, type TrainConfig } from './config.js';
import { FeatureStore, loadUtterances, normalizationStats, type Utterance } from './dataset.js';
import { extractFeaturesInParallel } from './parallel/feature-pool.js';
import { formatSeconds, Progress } from './progress.js';
import { writeTrainingCurve } from '../plot/training-curve.js';
import { GradientPool } from './parallel/pool.js';
import { applyGradients, computeGradients, type Gradients } from './step.js';

export interface TrainOptions {
  trainManifest: string;
  validManifest?: string;
  outDir: string;
  config: TrainConfig;
  /** Applied on top of the config, also when resuming (whose config otherwise wins). */
  overrides?: Partial<Pick<TrainConfig, 'epochs' | 'maxSteps'>>;
  resume: boolean;
  /**
   * Fine-tuning: a model directory whose weights (and architecture, which replaces
   * config.model) training starts from, with a fresh optimizer and schedules. Its normalization
   * statistics are kept when config.features equals its features, else computed anew from the
   * training set. Ignored when resuming a checkpoint (which holds the weights since).
   */
  initFrom?: string;
  /** Gradient workers (threads, each with its own backend instance); 1 = compute in this thread. */
  workers?: number;
  /** No progress bar or log lines (tests). */
  quiet?: boolean;
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
  /** Stop cleanly (checkpoint first) when aborted, e.g. on Ctrl-C. */
  signal?: AbortSignal;
}

export interface TrainResult {
  progress: TrainProgress;
  lastValidation?: EvalReport;
  /** True when stopped by the signal before finishing. */
  interrupted: boolean;
}

interface PreparedBatch {
  step: number;
  utts: Utterance[];
  feats: FeatureMatrix[];
}

export class TrainingDivergedError extends Error {}

/** Stopped by the signal before training started. */
export class TrainingInterruptedError extends Error {}

/** Seeded generator for one purpose at one step, so that a resumed run draws the same numbers. */
function rngFor(seed: number, purpose: number, index: number): Rng {
  return makeRng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(purpose + 1, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
}

const PURPOSE_ORDER = 1;
const PURPOSE_STEP = 2;
const PURPOSE_SAMPLING = 3;

/**
 * What fine-tuning takes from the model it starts from, read and checked before the feature
 * pass (so that a mismatch fails at once); its weights are loaded again when the model is built.
 */
type InitSource = Omit<LoadedModel, 'model' | 'vocab'> & { dir: string; config: ModelConfig };

async function inspectInitModel(dir: string, vocab: Vocabulary, config: TrainConfig): Promise<InitSource> {
  const init = await loadModel(dir);
  const { model, vocab: initVocab, ...rest } = init;
  model.dispose();
  const fail = (why: string): never => {
    throw new Error(`cannot fine-tune ${dir}: ${why}`);
  };
  if (initVocab.symbols.join('\u0000') !== vocab.symbols.join('\u0000')) fail(`its vocabulary (${initVocab.size} symbols) is not koe's (${vocab.size})`);
  if (model.config.inputDim !== featureDim(config.features)) {
    fail(`it reads ${model.config.inputDim}-dim features, the training config makes ${featureDim(config.features)}`);
  }
  return { ...rest, dir, config: model.config };
}

/** Seed of one utterance's scheduled-sampling coin flips at one step. */
function samplingSeed(seed: number, step: number, utterance: number): number {
  return (rngFor(seed, PURPOSE_SAMPLING, step)() * 4294967296) ^ Math.imul(utterance + 1, 0x27d4eb2d);
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const say = (line: string): void => {
    if (!opts.quiet) log(line);
  };
  const out = opts.outDir;
  await mkdir(out, { recursive: true });
  const vocab = new Vocabulary();

  let config = opts.config;
  const resuming = opts.resume && (await checkpointExists(out));
  if (!opts.resume && (await checkpointExists(out))) {
    throw new Error(`${out} already holds a training checkpoint: pass --resume to continue it, or choose another --out`);
  }
  const checkpoint = resuming ? await readCheckpoint(out) : undefined;
  if (opts.resume && !checkpoint) say(`no checkpoint in ${out}: starting a new run`);
  if (checkpoint) config = checkpoint.config;
  config = { ...config, ...opts.overrides };
  if (config.model.vocabSize !== vocab.size) config = { ...config, model: { ...config.model, vocabSize: vocab.size } };
  if (checkpoint && opts.initFrom) say(`--init-from ${opts.initFrom} ignored: resuming the checkpoint in ${out}, which holds the weights since`);
  const init = !checkpoint && opts.initFrom ? await inspectInitModel(opts.initFrom, vocab, config) : undefined;
  if (init) {
    config = { ...config, model: init.config };
    if (init.config.ctcLayer !== undefined && config.ctcWeight === 0) say(`fine-tuning: ${init.dir} has a CTC head, which ctcWeight 0 leaves untrained`);
  }
  checkCtcHead(config);
  // A checkpoint that has run all its epochs, or reached maxSteps, has nothing left to train:
  // stop before the data, whose features take many minutes to compute on a large corpus.
  if (checkpoint) {
    const p = checkpoint.progress;
    if (p.epoch >= config.epochs || (config.maxSteps > 0 && p.step >= config.maxSteps)) {
      say(`nothing left to train in ${out}: step ${p.step}, ${p.epoch} of ${config.epochs} epochs done${config.maxSteps > 0 ? `, maxSteps ${config.maxSteps}` : ''}`);
      return { progress: p, interrupted: false };
    }
  }

  // Data.
  const trainSet = await loadUtterances(opts.trainManifest, vocab, config.maxDuration);
  const validSet = opts.validManifest ? await loadUtterances(opts.validManifest, vocab, Infinity) : undefined;
  if (trainSet.utterances.length === 0) throw new Error(`${opts.trainManifest} has no usable utterances`);
  for (const s of [...trainSet.skipped, ...(validSet?.skipped ?? [])].slice(0, 5)) say(`skipping ${s.audioPath}: ${s.reason}`);
  const skippedCount = trainSet.skipped.length + (validSet?.skipped.length ?? 0);
  if (skippedCount > 5) say(`... ${skippedCount} utterances skipped in all`);
  const valid = validSet ? validSet.utterances.slice(0, config.maxValidUtterances || undefined) : [];

  const workers = Math.max(1, Math.floor(opts.workers ?? 1));
  const store = new FeatureStore(config.features);
  // Features of the training set at every speed-perturbation factor, computed before the first
  // step on all cores (computing them on demand would stall every step) and cached in --out,
  // one file per factor, for later runs.
  const speeds = [...new Set([1, ...config.augment.speeds])];
  const cacheFile = (speed: number): string => path.join(out, speed === 1 ? 'features-train.bin' : `features-train-speed${speed}.bin`);
  const cacheKey = JSON.stringify({ features: config.features, manifest: path.resolve(opts.trainManifest), utterances: trainSet.utterances.length, mtime: (await stat(opts.trainManifest)).mtimeMs });
  const missing: number[] = [];
  for (const speed of speeds) {
    if (await store.loadFile(cacheFile(speed), cacheKey, trainSet.utterances, speed)) say(`features: loaded from ${cacheFile(speed)}`);
    else missing.push(speed);
  }
  const jobs = missing.flatMap((speed) => trainSet.utterances.map((u) => ({ u, speed })));
  const featureBar = new Progress(jobs.length, 'features', [], opts.quiet || jobs.length === 0);
  featureBar.start();
  let jobsDone = 0;
  // Nothing is lost by stopping before the first step: a signal here ends the run at once.
  const stopIfAsked = (): void => {
    if (opts.signal?.aborted) throw new TrainingInterruptedError('interrupted while computing features (nothing to save)');
  };
  const featureDone = (): void => {
    stopIfAsked();
    featureBar.update(++jobsDone);
  };
  if (workers > 1) {
    const onResult = (i: number, m: FeatureMatrix, duration: number): void => {
      const { u, speed } = jobs[i] as { u: Utterance; speed: number };
      store.put(u, speed, m, duration);
      featureDone();
    };
    await extractFeaturesInParallel(jobs.map(({ u, speed }) => ({ audioPath: u.audioPath, speed })), config.features, workers, onResult);
  } else {
    for (const { u, speed } of jobs) {
      await store.raw(u, speed);
      featureDone();
    }
  }
  featureBar.stop();
  const keepInitStats = init !== undefined && sameFeatures(init.features, config.features);
  if (init && !keepInitStats) say(`fine-tuning: the features differ from ${init.dir}'s, so normalization statistics are computed anew`);
  const normalization: NormStats = checkpoint
    ? checkpoint.normalization
    : init && keepInitStats
      ? init.normalization
      : await normalizationStats(store, trainSet.utterances);
  if (trainSet.utterances.length >= 1000) {
    for (const speed of missing) {
      stopIfAsked();
      await store.saveFile(cacheFile(speed), cacheKey, trainSet.utterances, speed).catch((err: Error) => say(`warning: feature cache not written: ${err.message}`));
    }
  }
  const frames = await Promise.all(trainSet.utterances.map(async (u) => (await store.raw(u)).frames));
  const hours = trainSet.utterances.reduce((s, u) => s + u.duration, 0) / 3600;

  // Model and optimizer.
  const model = checkpoint
    ? new Seq2Seq(config.model, ModelParams.fromTensors(config.model, checkpoint.params))
    : init
      ? (await loadModel(init.dir)).model
      : Seq2Seq.create(config.model, config.seed);
  const adam = new Adam();
  if (checkpoint) {
    adam.restore(checkpoint.adamStep, checkpoint.adam);
    // The model's and Adam's variables hold their own references to the loaded data.
    tf.dispose([...Object.values(checkpoint.params), ...Object.values(checkpoint.adam)]);
  }
  const progress: TrainProgress = checkpoint?.progress ?? {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    seconds: 0,
    utterancesSeen: 0,
    bestValidCer: null,
    epochs: [],
  };
  const data = {
    trainManifest: path.resolve(opts.trainManifest),
    validManifest: opts.validManifest ? path.resolve(opts.validManifest) : null,
    trainUtterances: trainSet.utterances.length,
    trainHours: Number(hours.toFixed(3)),
    validUtterances: valid.length,
    // A fine-tuned model says what it started from (kept across resumes).
    ...(checkpoint?.data.initFrom !== undefined
      ? { initFrom: checkpoint.data.initFrom }
      : init
        ? { initFrom: { model: path.resolve(init.dir), steps: init.training.steps ?? null, trainingSeconds: init.training.trainingSeconds ?? null, validCer: init.training.validCer ?? null } }
        : {}),
  };
  say(
    `training on ${trainSet.utterances.length} utterances (${hours.toFixed(2)} h), validating on ${valid.length}; ` +
      `${model.params.count.toLocaleString('en-US')} parameters; ${checkpoint ? `resuming at step ${progress.step}, epoch ${progress.epoch + 1}` : init ? `fine-tuning ${init.dir}` : 'new run'}`,
  );

  // A finite loss and gradient can still leave non-finite weights (e.g. an absurd learning
  // rate): never replace a loadable checkpoint or model with one that cannot be read back.
  const assertFiniteWeights = (): void => {
    for (const [name, v] of model.params.vars) {
      if (!(v.dataSync() as Float32Array).every(Number.isFinite)) {
        throw new TrainingDivergedError(
          `training diverged by step ${progress.step}: weight "${name}" is no longer finite. Nothing was saved; ` +
            `the last checkpoint in ${out} is intact. Try a lower learningRate.peak or clipNorm, then --resume.`,
        );
      }
    }
  };
  const saveCheckpoint = async (): Promise<void> => {
    assertFiniteWeights();
    const params: Record<string, tf.Tensor> = {};
    for (const [k, v] of model.params.vars) params[k] = v;
    const state = adam.state();
    await writeCheckpoint(out, { config, normalization, progress, adamStep: state.step, params, adam: state.tensors, data });
  };
  const saveModelIn = async (dir: string, metrics: Record<string, unknown>): Promise<void> => {
    assertFiniteWeights();
    await saveModel(dir, {
      model,
      vocab,
      features: config.features,
      normalization,
      training: {
        ...data,
        ...metrics,
        steps: progress.step,
        epochs: progress.epoch,
        trainingSeconds: Math.round(progress.seconds),
        teacherForcing: config.teacherForcing,
        augment: config.augment,
        seed: config.seed,
        savedAt: new Date().toISOString(),
      },
    });
  };

  /** Features of one batch: speed perturbation, normalization and SpecAugment, drawn from the step's seed. */
  const prepareBatch = async (indices: number[], step: number): Promise<PreparedBatch> => {
    const rng = rngFor(config.seed, PURPOSE_STEP, step);
    const utts = indices.map((i) => trainSet.utterances[i] as Utterance);
    const feats: FeatureMatrix[] = [];
    for (const u of utts) {
      const speed = config.augment.speeds.length > 0 ? (config.augment.speeds[Math.floor(rng() * config.augment.speeds.length)] as number) : 1;
      let m = normalize(await store.raw(u, speed), normalization);
      if (config.augment.specAugment) m = specAugment(m, config.augment.specAugment, rng);
      feats.push(m);
    }
    return { step, utts, feats };
  };

  // Replicas of the model and Adam in worker threads, kept equal to these by identical updates.
  const pool = workers > 1 ? await GradientPool.start(workers, model, adam, backendInfo()?.name ?? 'auto') : undefined;
  if (pool) say(`data-parallel training on ${pool.size} workers (this thread and ${pool.size - 1} worker threads)`);

  const logFile = path.join(out, 'train-log.jsonl');
  let interrupted = false;
  let lastValidation: EvalReport | undefined;
  const sessionStart = Date.now();
  const secondsAtStart = progress.seconds;
  const elapsed = (): number => secondsAtStart + (Date.now() - sessionStart) / 1000;

  try {
    while (progress.epoch < config.epochs && !interrupted) {
      const epoch = progress.epoch;
      const curriculum = epoch === 0 && config.sortFirstEpoch;
      const batches = makeBatches(frames, config.maxBatchFrames, config.maxBatchUtterances, curriculum ? undefined : rngFor(config.seed, PURPOSE_ORDER, epoch));
      const bar = new Progress(batches.length, `epoch ${epoch + 1}/${config.epochs}`, ['step', 'loss', 'tf', 'lr', 'utt/s'], opts.quiet);
      bar.start(progress.batchInEpoch);
      // Carried in the checkpoint, so that the epoch's mean loss also covers the steps before a resume.
      let lossSum = progress.batchInEpoch > 0 ? (progress.epochLossSum ?? 0) : 0;
      let lossCount = progress.batchInEpoch > 0 ? (progress.epochLossCount ?? 0) : 0;
      const epochStart = Date.now();
      let epochUtterances = 0;
      let prepared: PreparedBatch | undefined;
      for (let bi = progress.batchInEpoch; bi < batches.length; bi++) {
        if (opts.signal?.aborted) {
          interrupted = true;
          break;
        }
        if (config.maxSteps > 0 && progress.step >= config.maxSteps) break;
        const step = progress.step;
        const batch = prepared?.step === step ? prepared : await prepareBatch(batches[bi] as number[], step);
        const { utts } = batch;
        const teacherForcing = teacherForcingProbability(config.teacherForcing, step);
        const learningRate = learningRateAt(config.learningRate, step);
        const targets = utts.map((u) => u.targets);
        const samplingSeeds = utts.map((u) => samplingSeed(config.seed, step, u.index));
        const lossOptions: StepLossOptions = { teacherForcing, labelSmoothing: config.labelSmoothing, ctcWeight: config.ctcWeight };
        let g: Gradients;
        if (pool) {
          // This thread computes its shard, then prepares the next batch while the workers finish theirs.
          const pending = pool.compute(batch.feats, targets, samplingSeeds, lossOptions);
          prepared = bi + 1 < batches.length ? await prepareBatch(batches[bi + 1] as number[], step + 1) : undefined;
          g = await pending;
        } else {
          g = tidyKeep(() => computeGradients(model, batch.feats, targets, { ...lossOptions, samplingSeeds }));
        }
        if (!Number.isFinite(g.loss)) {
          tf.dispose(Object.values(g.grads));
          throw new TrainingDivergedError(
            `training diverged at step ${step}: the loss is ${g.loss}. Nothing was saved from this step; the last checkpoint in ${out} is intact. ` +
              `Try a lower learningRate.peak or clipNorm, then --resume.`,
          );
        }
        const update = pool ? pool.apply(g.grads, learningRate, config.clipNorm) : applyGradients(model, adam, g.grads, learningRate, config.clipNorm);
        if (!update.applied) {
          throw new TrainingDivergedError(`training diverged at step ${step}: the gradient norm is ${update.gradNorm}. The last checkpoint in ${out} is intact.`);
        }
        progress.step++;
        progress.batchInEpoch = bi + 1;
        progress.utterancesSeen += utts.length;
        epochUtterances += utts.length;
        progress.seconds = elapsed();
        lossSum += g.loss;
        lossCount++;
        progress.epochLossSum = lossSum;
        progress.epochLossCount = lossCount;
        await appendFile(
          logFile,
          JSON.stringify({ step, loss: g.loss, ...(g.ctcLoss === undefined ? {} : { ctc: g.ctcLoss }), teacherForcing, learningRate, gradNorm: update.gradNorm, sampled: g.sampledInputs }) + '\n',
        );
        bar.update(bi + 1, {
          step: String(progress.step),
          loss: g.loss.toFixed(3),
          tf: teacherForcing.toFixed(3),
          lr: learningRate.toExponential(1),
          'utt/s': (epochUtterances / Math.max(1e-3, (Date.now() - epochStart) / 1000)).toFixed(1),
        });
        if (progress.step % config.checkpointEvery === 0) await saveCheckpoint();
      }
      bar.stop();
      const epochDone = progress.batchInEpoch >= batches.length;
      if (!epochDone) {
        await saveCheckpoint();
        if (!interrupted) say(`stopped at step ${progress.step} (maxSteps ${config.maxSteps})`);
        break;
      }

      // Validation at the end of the epoch.
      const record: EpochRecord = {
        epoch: epoch + 1,
        step: progress.step,
        trainLoss: lossCount > 0 ? lossSum / lossCount : NaN,
        teacherForcing: teacherForcingProbability(config.teacherForcing, progress.step),
        learningRate: learningRateAt(config.learningRate, progress.step),
        seconds: Math.round(elapsed()),
      };
      if (valid.length > 0) {
        const v = await validate(model, vocab, store, valid, normalization);
        lastValidation = v.report;
        Object.assign(record, { validLoss: v.loss, validCer: v.report.cer, validWer: v.report.wer }, v.ctcReport ? { validCtcCer: v.ctcReport.cer } : {});
        say(
          `epoch ${epoch + 1}: train loss ${record.trainLoss.toFixed(3)}, valid loss ${v.loss.toFixed(3)}, ` +
            `CER ${(v.report.cer * 100).toFixed(2)}%, WER ${(v.report.wer * 100).toFixed(2)}%` +
            (v.ctcReport ? `, CTC-head CER ${(v.ctcReport.cer * 100).toFixed(2)}%` : '') +
            ` (${formatSeconds(elapsed())})`,
        );
      } else {
        say(`epoch ${epoch + 1}: train loss ${record.trainLoss.toFixed(3)} (${formatSeconds(elapsed())})`);
      }
      progress.epochs.push(record);
      try {
        await writeTrainingCurve(out, progress.epochs);
      } catch (err) {
        say(`warning: could not draw the training curve: ${(err as Error).message}`);
      }
      progress.epoch++;
      progress.batchInEpoch = 0;
      progress.epochLossSum = 0;
      progress.epochLossCount = 0;
      const improved = record.validCer === undefined || progress.bestValidCer === null || record.validCer <= progress.bestValidCer;
      if (record.validCer !== undefined && improved) progress.bestValidCer = record.validCer;
      const metrics = { validCer: record.validCer ?? null, validWer: record.validWer ?? null, epoch: epoch + 1 };
      if (improved) await saveModelIn(out, metrics);
      if (config.keepEpochModels > 0) await saveEpochSnapshot(out, epoch + 1, config.keepEpochModels, (dir) => saveModelIn(dir, metrics));
      await saveCheckpoint();
    }
  } finally {
    await pool?.close();
    model.dispose();
    adam.dispose();
  }
  if (interrupted) say(`interrupted: checkpoint saved at step ${progress.step}; continue with --resume`);
  return { progress, lastValidation, interrupted };
}

/** Where `keepEpochModels` puts the model of the end of an epoch. */
export function epochModelDir(out: string, epoch: number): string {
  return path.join(out, 'epochs', `epoch-${String(epoch).padStart(3, '0')}`);
}

/** Save one epoch's snapshot, then remove all but the last `keep` of them. */
async function saveEpochSnapshot(out: string, epoch: number, keep: number, save: (dir: string) => Promise<void>): Promise<void> {
  await save(epochModelDir(out, epoch));
  const root = path.join(out, 'epochs');
  const snapshots = (await readdir(root)).filter((d) => /^epoch-\d+$/.test(d)).sort();
  for (const old of snapshots.slice(0, Math.max(0, snapshots.length - keep))) await rm(path.join(root, old), { recursive: true, force: true });
}

/** Validation: teacher-forced loss and greedy-decoding error rates. */
async function validate(
  model: Seq2Seq,
  vocab: Vocabulary,
  store: FeatureStore,
  valid: readonly Utterance[],
  normalization: NormStats,
): Promise<{ loss: number; report: EvalReport; ctcReport: EvalReport | undefined }> {
  const items: EvalItem[] = valid.map((u) => ({
    audioPath: u.audioPath,
    ref: u.text,
    load: async () => {
      const features = await store.normalized(u, normalization);
      return { features, duration: u.duration };
    },
  }));
  const report = await evaluate(items, (feats) => greedyDecode(model, vocab, feats), { batchSize: 16 });
  // What the encoder alone has learned, read through the CTC head.
  const ctcReport = model.config.ctcLayer === undefined ? undefined : await evaluate(items, (feats) => ctcGreedyDecode(model, vocab, feats), { batchSize: 16 });
  let lossSum = 0;
  let tokens = 0;
  for (let i = 0; i < valid.length; i += 16) {
    const group = valid.slice(i, i + 16);
    const feats = await Promise.all(group.map((u) => store.normalized(u, normalization)));
    const r = tf.tidy(() => {
      const res = model.loss(feats, group.map((u) => u.targets), { teacherForcing: 1, labelSmoothing: 0 });
      return { loss: res.loss.dataSync()[0] as number, tokens: res.tokens };
    });
    lossSum += r.loss * r.tokens;
    tokens += r.tokens;
  }
  return { loss: lossSum / Math.max(1, tokens), report, ctcReport };
}
