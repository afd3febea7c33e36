/**
 * The attention encoder-decoder: encoder + attention + character decoder, and the
 * training loss with scheduled teacher forcing.
 */
import * as tf from '@tensorflow/tfjs';
import { argMaxRow } from '../util/argmax.js';
import { makeRng, type Rng } from '../util/rng.js';
import { validateModelConfig, type ModelConfig } from './config.js';
import { packFeatures, type Frames } from './batch.js';
import { decoderStep, initialState, oneHotInputs, prepareMemory, type AttentionMemory, type DecoderState, type StepResult } from './decoder.js';
import { ctcLossTensor } from './ctc.js';
import { encode, type EncoderOutput, type LayerOutput } from './encoder.js';
import { fastKernels, type Kernels } from './kernels.js';
import { ModelParams } from './params.js';
import { EOS, SOS } from './vocab.js';

export interface LossOptions {
  /** Probability of feeding the ground truth as the next input (scheduled sampling). */
  teacherForcing: number;
  /**
   * One seed per utterance for its coin flips (needed when teacherForcing < 1). Per-utterance
   * streams make the flips independent of how a batch is split across workers.
   */
  samplingSeeds?: readonly number[];
  /** Label smoothing mass spread over the vocabulary (0 = none). */
  labelSmoothing?: number;
  /**
   * Weight of the CTC loss on the model's CTC head in the joint loss
   * (1 - w) * attention + w * CTC (0 = attention only; needs `ctcLayer` in the model config).
   */
  ctcWeight?: number;
}

/** Loss options that are the same for every utterance of a step (what a gradient worker is told). */
export type StepLossOptions = Omit<LossOptions, 'samplingSeeds'>;

export interface LossResult {
  /**
   * Mean cross-entropy per target character (end symbol included); with CTC, the joint
   * (1 - w) * cross-entropy + w * CTC negative log-likelihood, both per target character.
   */
  loss: tf.Scalar;
  /** The CTC part alone (per target character), when ctcWeight > 0. */
  ctcLoss?: number;
  /** How many target characters, and how many inputs came from the model's own predictions. */
  tokens: number;
  sampledInputs: number;
}

export class Seq2Seq {
  constructor(
    readonly config: ModelConfig,
    readonly params: ModelParams,
    readonly kernels: Kernels = fastKernels,
  ) {
    validateModelConfig(config);
  }

  static create(config: ModelConfig, seed: number, kernels: Kernels = fastKernels): Seq2Seq {
    validateModelConfig(config);
    return new Seq2Seq(config, ModelParams.create(config, seed), kernels);
  }

  /** The same weights computed with other kernels (e.g. the automatic-gradient reference). */
  withKernels(kernels: Kernels): Seq2Seq {
    return new Seq2Seq(this.config, this.params, kernels);
  }

  encode(utterances: readonly Frames[]): EncoderOutput {
    return encode(this.config, this.params, this.kernels, packFeatures(utterances, this.config.timeReduction));
  }

  memory(enc: EncoderOutput): AttentionMemory {
    return prepareMemory(this.config, this.params, this.kernels, enc);
  }

  initialState(mem: AttentionMemory): DecoderState {
    return initialState(this.config, this.params, this.kernels, mem);
  }

  step(mem: AttentionMemory, state: DecoderState, input: tf.Tensor2D): StepResult {
    return decoderStep(this.config, this.params, this.kernels, mem, state, input);
  }

  /** One-hot rows for a list of symbol ids. */
  oneHot(ids: readonly number[]): tf.Tensor2D {
    return oneHotInputs(ids, this.config.vocabSize);
  }

  /**
   * Cross-entropy of the targets (character ids, no start/end symbols) given the features.
   * The decoder's input at each step is the true previous character with probability
   * `teacherForcing`, else its own most likely previous output (no gradient through that choice).
   * Call inside tf.tidy / a gradient function: intermediate tensors are not disposed here.
   */
  loss(utterances: readonly Frames[], targets: readonly (readonly number[])[], opts: LossOptions): LossResult {
    if (utterances.length !== targets.length) throw new Error('features and targets differ in count');
    const batch = targets.length;
    const vocab = this.config.vocabSize;
    const steps = Math.max(...targets.map((t) => t.length)) + 1; // + end symbol
    const enc = this.encode(utterances);
    const mem = this.memory(enc);
    const targetAt = (b: number, t: number): number => {
      const seq = targets[b] as readonly number[];
      return t < seq.length ? (seq[t] as number) : t === seq.length ? EOS : -1;
    };
    if (opts.teacherForcing < 1 && opts.samplingSeeds?.length !== batch) throw new Error('scheduled sampling needs one sampling seed per utterance');
    const coins: Rng[] = opts.teacherForcing < 1 ? (opts.samplingSeeds as readonly number[]).map((s) => makeRng(s)) : [];
    let sampledInputs = 0;
    // The next input: the true character t, or (scheduled sampling) step t's most likely output.
    const next = (t: number, logits: () => Float32Array): number[] => {
      const useTruth = targets.map((_, b) => opts.teacherForcing >= 1 || (coins[b] as Rng)() < opts.teacherForcing);
      return useTruth.map((truth, b) => {
        if (truth) return Math.max(0, targetAt(b, t));
        if (targetAt(b, t) >= 0) sampledInputs++;
        return argMaxRow(logits(), b, vocab);
      });
    };
    const allLogits = this.kernels.decodeTraining(
      { cfg: this.config, params: this.params, mem, init: this.initialState(mem), steps, first: new Array(batch).fill(SOS), next },
      this.kernels,
    );

    // Targets and padding mask, step-major to match the concatenated logits.
    const smoothing = opts.labelSmoothing ?? 0;
    const dist = new Float32Array(steps * batch * vocab);
    let tokens = 0;
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < batch; b++) {
        const y = targetAt(b, t);
        if (y < 0) continue;
        tokens++;
        const row = (t * batch + b) * vocab;
        if (smoothing > 0) dist.fill(smoothing / vocab, row, row + vocab);
        dist[row + y] = (dist[row + y] as number) + 1 - smoothing;
      }
    }
    const logProbs = tf.logSoftmax(allLogits);
    const total = tf.sum(tf.mul(tf.tensor2d(dist, [steps * batch, vocab]), logProbs));
    const attentionLoss = tf.div(tf.neg(total), tokens) as tf.Scalar;
    const ctcWeight = opts.ctcWeight ?? 0;
    if (ctcWeight <= 0) return { loss: attentionLoss, tokens, sampledInputs };
    const ctc = this.ctcLoss(enc, targets);
    const ctcPerToken = tf.div(ctc.loss, tokens);
    const loss = tf.add(tf.mul(attentionLoss, 1 - ctcWeight), tf.mul(ctcPerToken, ctcWeight)) as tf.Scalar;
    return { loss, tokens, sampledInputs, ctcLoss: ctc.nll / tokens };
  }

  /** The encoder layer output the CTC head reads (its frames and lengths); throws for a model without a head. */
  ctcInput(enc: EncoderOutput): LayerOutput {
    if (!enc.ctcInput) throw new Error('this model has no CTC head (model.ctcLayer is not set)');
    return enc.ctcInput;
  }

  /** Frame-wise scores of the CTC head, time-major [T*B, vocab] (blank = CTC_BLANK). */
  ctcLogits(enc: EncoderOutput): tf.Tensor2D {
    return tf.add(this.kernels.linear(this.ctcInput(enc).x, this.params.get('ctc.w') as tf.Tensor2D), this.params.get('ctc.b')) as tf.Tensor2D;
  }

  /** Summed CTC negative log-likelihood of the targets (utterances whose targets cannot fit count 0). */
  ctcLoss(enc: EncoderOutput, targets: readonly (readonly number[])[]): { loss: tf.Scalar; nll: number; feasible: number } {
    const input = this.ctcInput(enc);
    return ctcLossTensor(this.ctcLogits(enc), input.steps, targets.length, input.lengths, targets);
  }

  dispose(): void {
    this.params.dispose();
  }
}
