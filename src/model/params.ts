/**
 * The model's weights: named tf.Variables, created deterministically from a seed.
 * Names are part of the saved format (see io/model-dir.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../util/rng.js';
import { reductionSteps, type ModelConfig } from './config.js';

// tfjs variable names are global to the process: keep each one unique.
let variableCounter = 0;
function nextVariableName(name: string): string {
  return `koe/${name}#${variableCounter++}`;
}

export type ParamShapes = Record<string, number[]>;

/** Input width of encoder layer `layer` (frame pairs are joined before the first reduction layers). */
export function encoderInputDim(cfg: ModelConfig, layer: number): number {
  const below = layer === 0 ? cfg.inputDim : 2 * cfg.encoderUnits;
  return layer < reductionSteps(cfg) ? 2 * below : below;
}

export function paramShapes(cfg: ModelConfig): ParamShapes {
  const shapes: ParamShapes = {};
  const h = cfg.encoderUnits;
  for (let l = 0; l < cfg.encoderLayers; l++) {
    for (const dir of ['fw', 'bw']) {
      shapes[`enc.${l}.${dir}.w`] = [encoderInputDim(cfg, l), 4 * h];
      shapes[`enc.${l}.${dir}.u`] = [h, 4 * h];
      shapes[`enc.${l}.${dir}.b`] = [4 * h];
    }
  }
  const enc = 2 * h;
  const d = cfg.decoderUnits;
  const a = cfg.attentionDim;
  shapes['att.wk'] = [enc, a];
  shapes['att.b'] = [a];
  shapes['att.wq'] = [d, a];
  shapes['att.v'] = [a, 1];
  if (cfg.attention === 'location') shapes['att.wloc'] = [cfg.locationKernel, a];
  shapes['dec.init.w'] = [enc, 2 * d];
  shapes['dec.init.b'] = [2 * d];
  shapes['dec.w'] = [cfg.vocabSize + enc + d, 4 * d];
  shapes['dec.b'] = [4 * d];
  shapes['out.w1'] = [d + enc, cfg.outputDim];
  shapes['out.b1'] = [cfg.outputDim];
  shapes['out.w2'] = [cfg.outputDim, cfg.vocabSize];
  shapes['out.b2'] = [cfg.vocabSize];
  if (cfg.ctcLayer !== undefined) {
    shapes['ctc.w'] = [enc, cfg.vocabSize];
    shapes['ctc.b'] = [cfg.vocabSize];
  }
  return shapes;
}

function initialValues(name: string, shape: number[], rng: Rng): Float32Array {
  const size = shape.reduce((p, s) => p * s, 1);
  const values = new Float32Array(size);
  if (shape.length === 1) {
    // Biases start at zero, except the LSTM forget gates (second quarter), which start at 1
    // so that early training remembers rather than forgets (Jozefowicz et al. 2015).
    if (/\.(fw|bw)\.b$|^dec\.b$/.test(name)) values.fill(1, size / 4, size / 2);
    return values;
  }
  const [fanIn, fanOut] = shape as [number, number];
  const limit = Math.sqrt(6 / (fanIn + fanOut)); // Glorot uniform
  for (let i = 0; i < size; i++) values[i] = (2 * rng() - 1) * limit;
  return values;
}

export class ModelParams {
  constructor(readonly vars: Map<string, tf.Variable>) {}

  static create(cfg: ModelConfig, seed: number): ModelParams {
    const rng = makeRng(seed);
    const vars = new Map<string, tf.Variable>();
    for (const [name, shape] of Object.entries(paramShapes(cfg))) {
      const init = tf.tensor(initialValues(name, shape, rng), shape);
      vars.set(name, tf.variable(init, true, nextVariableName(name)));
      init.dispose(); // the variable holds its own reference to the data
    }
    return new ModelParams(vars);
  }

  /**
   * Wrap loaded tensors, checking that names and shapes match the architecture. The variables
   * share the tensors' data; the caller still owns (and may dispose) the tensors passed in.
   */
  static fromTensors(cfg: ModelConfig, tensors: Record<string, tf.Tensor>): ModelParams {
    const vars = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of Object.entries(paramShapes(cfg))) {
        const t = tensors[name];
        if (!t) throw new Error(`weights are missing "${name}"`);
        if (t.shape.join('x') !== shape.join('x')) {
          throw new Error(`weight "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
        }
        vars.set(name, tf.variable(t, true, nextVariableName(name)));
      }
    } catch (err) {
      for (const v of vars.values()) v.dispose();
      throw err;
    }
    return new ModelParams(vars);
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter "${name}"`);
    return v;
  }

  get count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  list(): tf.Variable[] {
    return [...this.vars.values()];
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}
