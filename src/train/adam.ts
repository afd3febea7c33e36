/**
 * Adam (Kingma & Ba 2015) over named parameters, with its state keyed by parameter name
 * so that it can be saved in a checkpoint and restored in another process exactly.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const DEFAULT_ADAM: AdamSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export class Adam {
  /** Number of updates applied so far. */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(readonly settings: AdamSettings = DEFAULT_ADAM) {}

  /** Apply one update with the given learning rate; gradients are keyed by parameter name. */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, learningRate: number): void {
    const { beta1, beta2, epsilon } = this.settings;
    this.step++;
    const correction1 = 1 - Math.pow(beta1, this.step);
    const correction2 = 1 - Math.pow(beta2, this.step);
    const stepSize = (learningRate * Math.sqrt(correction2)) / correction1;
    tf.tidy(() => {
      for (const [name, param] of params) {
        const g = grads[name];
        if (!g) continue;
        const m = this.moment(this.m, name, param);
        const v = this.moment(this.v, name, param);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        param.assign(tf.sub(param, tf.mul(stepSize, tf.div(m, tf.add(tf.sqrt(v), epsilon)))));
      }
    });
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let t = store.get(name);
    if (!t) {
      t = tf.variable(tf.zerosLike(like), false);
      store.set(name, t);
    }
    return t;
  }

  /** State as named tensors (`m/<param>`, `v/<param>`) plus the step count. */
  state(): { step: number; tensors: Record<string, tf.Tensor> } {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, t] of this.m) tensors[`m/${name}`] = t;
    for (const [name, t] of this.v) tensors[`v/${name}`] = t;
    return { step: this.step, tensors };
  }

  restore(step: number, tensors: Record<string, tf.Tensor>): void {
    this.dispose();
    this.step = step;
    for (const [key, t] of Object.entries(tensors)) {
      const [kind, ...rest] = key.split('/');
      const name = rest.join('/');
      if (kind === 'm') this.m.set(name, tf.variable(t, false));
      else if (kind === 'v') this.v.set(name, tf.variable(t, false));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
