/**
 * Run-time choice of the TensorFlow.js backend: native kernels (tfjs-node) where they
 * installed, else WebAssembly, else the pure-JS cpu backend. Overridable with
 * `--backend` or the KOE_BACKEND environment variable; always reported.
 */
import * as tf from '@tensorflow/tfjs';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The tfjs backend name now active ('tensorflow', 'wasm' or 'cpu'). */
  name: string;
  /** What was asked for. */
  requested: BackendChoice;
  /** Why earlier candidates were passed over (empty when the first one worked). */
  fallbacks: string[];
}

let active: BackendInfo | undefined;

// Held in a variable so neither the type checker nor a bundler tries to resolve it.
const TFJS_NODE = '@tensorflow/tfjs-node';

async function tryTensorflow(): Promise<void> {
  await import(TFJS_NODE);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but its backend did not start');
}

async function tryWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not start');
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not start');
}

const STARTERS: Record<Exclude<BackendChoice, 'auto'>, () => Promise<void>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

export function parseBackendChoice(value: string | undefined): BackendChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  const alias: Record<string, BackendChoice> = { node: 'tensorflow', 'tfjs-node': 'tensorflow', native: 'tensorflow' };
  const choice = (alias[v] ?? v) as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`unknown backend "${value}" (choose one of: ${BACKEND_CHOICES.join(', ')})`);
  }
  return choice;
}

/**
 * Start a backend. `choice` defaults to the KOE_BACKEND environment variable, then 'auto'.
 * An explicit choice that fails is an error; 'auto' falls back and records why.
 */
export async function initBackend(choice?: BackendChoice | string): Promise<BackendInfo> {
  // KOE_BACKEND only picks the first backend: once one runs (e.g. from --backend), a later call
  // without a choice (Transcriber.load) keeps it instead of switching to the variable's.
  if (choice === undefined && active) return active;
  const requested = parseBackendChoice(choice ?? process.env.KOE_BACKEND);
  if (active && (requested === 'auto' || requested === active.requested || requested === active.name)) return active;
  const order: Exclude<BackendChoice, 'auto'>[] = requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];
  const fallbacks: string[] = [];
  for (const name of order) {
    try {
      await STARTERS[name]();
      await tf.ready();
      active = { name: tf.getBackend(), requested, fallbacks };
      return active;
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (requested !== 'auto') throw new Error(`backend "${name}" is not available: ${reason}`);
      fallbacks.push(`${name}: ${reason}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${fallbacks.join('; ')})`);
}

export function backendInfo(): BackendInfo | undefined {
  return active;
}
