/**
 * A JSON document plus named tensors, stored as `<name>.json` (the document and a tfjs
 * weights manifest) and `<name>-<hash>.bin` (the tensor data). The data file is written
 * first under a fresh content-addressed name, then the JSON atomically replaces the old
 * one, then stale data files are removed: a crash at any point leaves a loadable pair.
 * Loading needs only @tensorflow/tfjs (no tfjs-node file handlers).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from './atomic.js';

interface BundleFile {
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  [key: string]: unknown;
}

export async function writeTensorBundle(dir: string, name: string, document: Record<string, unknown>, tensors: Record<string, tf.Tensor>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const bytes = new Uint8Array(data);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dataFile = `${name}-${hash}.bin`;
  await writeFileAtomic(path.join(dir, dataFile), bytes);
  await writeBundleJson(dir, name, { ...document, weightsManifest: [{ paths: [dataFile], weights: specs }] });
  for (const file of await readdir(dir)) {
    if (file.startsWith(`${name}-`) && file.endsWith('.bin') && file !== dataFile) await rm(path.join(dir, file), { force: true });
  }
}

function writeBundleJson(dir: string, name: string, json: BundleFile): Promise<void> {
  return writeFileAtomic(path.join(dir, `${name}.json`), JSON.stringify(json, null, 1) + '\n');
}

export class BundleError extends Error {}

async function readBundleJson(jsonPath: string): Promise<BundleFile> {
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BundleError(code === 'ENOENT' ? `${jsonPath} not found` : `cannot read ${jsonPath}: ${(err as Error).message}`);
  }
  let doc: BundleFile;
  try {
    doc = JSON.parse(text) as BundleFile;
  } catch {
    throw new BundleError(`${jsonPath} is corrupt (not valid JSON)`);
  }
  const group = Array.isArray(doc.weightsManifest) ? doc.weightsManifest[0] : undefined;
  if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new BundleError(`${jsonPath} has no valid weightsManifest`);
  return doc;
}

/**
 * Change a bundle's JSON document without touching its tensors: `update` gets the document
 * (without the weights manifest) and returns the new one, which atomically replaces the old.
 */
export async function updateBundleDocument(dir: string, name: string, update: (document: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  const { weightsManifest, ...document } = await readBundleJson(path.join(dir, `${name}.json`));
  await writeBundleJson(dir, name, { ...update(document), weightsManifest });
}

export async function bundleExists(dir: string, name: string): Promise<boolean> {
  try {
    await readFile(path.join(dir, `${name}.json`));
    return true;
  } catch {
    return false;
  }
}

/** Read a bundle; errors name the file and what is wrong with it. */
export async function readTensorBundle(dir: string, name: string): Promise<{ document: Record<string, unknown>; tensors: Record<string, tf.Tensor> }> {
  const jsonPath = path.join(dir, `${name}.json`);
  const doc = await readBundleJson(jsonPath);
  const group = doc.weightsManifest[0]!;
  const chunks: Uint8Array[] = [];
  for (const p of group.paths) {
    try {
      chunks.push(await readFile(path.join(dir, p)));
    } catch {
      throw new BundleError(`weights file ${path.join(dir, p)} named in ${jsonPath} is missing`);
    }
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const expected = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (total !== expected) throw new BundleError(`weights for ${jsonPath} are corrupt (${total} bytes, expected ${expected})`);
  const buffer = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    buffer.set(c, offset);
    offset += c.length;
  }
  const tensors = tf.io.decodeWeights(buffer.buffer, group.weights) as Record<string, tf.Tensor>;
  for (const [key, t] of Object.entries(tensors)) {
    const values = t.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i] as number)) {
        tf.dispose(Object.values(tensors));
        throw new BundleError(`weights for ${jsonPath} are corrupt (${key} holds a non-finite value)`);
      }
    }
  }
  const { weightsManifest: _unused, ...document } = doc;
  return { document, tensors };
}
