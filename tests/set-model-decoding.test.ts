/**
 * scripts/set-model-decoding.ts: writes a model directory's recommended decoding settings into
 * model.json after checking them as loading does, and leaves everything else as it was (other
 * fields, the weights file); bad settings change nothing. Also run as the compiled script.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setModelDecoding } from '../scripts/set-model-decoding.js';
import { initBackend } from '../src/backend.js';
import { loadModel } from '../src/io/model-dir.js';
import { REPO_ROOT, saveModelDir, SMALL_MODEL, TempDirs, untrainedModel } from './helpers/tiny-model.js';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'dist', 'scripts', 'set-model-decoding.js');
const dirs = new TempDirs();
let plainDir: string;
let ctcDir: string;

/** model.json parsed, and every file of the directory with its bytes. */
async function snapshot(dir: string): Promise<{ doc: Record<string, unknown>; files: Map<string, Buffer> }> {
  const files = new Map<string, Buffer>();
  for (const f of (await readdir(dir)).sort()) files.set(f, await readFile(path.join(dir, f)));
  return { doc: JSON.parse(files.get('model.json')!.toString('utf8')) as Record<string, unknown>, files };
}

beforeAll(async () => {
  if (!existsSync(SCRIPT)) {
    await run(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  }
  await initBackend('cpu');
  plainDir = await dirs.make('koe-setdec-');
  ctcDir = await dirs.make('koe-setdec-ctc-');
  for (const [dir, config] of [
    [plainDir, SMALL_MODEL],
    [ctcDir, { ...SMALL_MODEL, ctcLayer: 0 }],
  ] as const) {
    const model = untrainedModel(config, 2);
    await saveModelDir(dir, model, { steps: 7, note: 'set-model-decoding' });
    model.dispose();
  }
});
afterAll(async () => {
  await dirs.cleanup();
});

describe('setModelDecoding', () => {
  it('sets the settings and touches nothing else; {} removes them', async () => {
    const before = await snapshot(plainDir);
    expect(await setModelDecoding(plainDir, { beam: 4, ctcWeight: 1, lmWeight: 0.3 })).toEqual({ beam: 4, ctcWeight: 1, lmWeight: 0.3 });
    const after = await snapshot(plainDir);
    expect(after.doc).toEqual({ ...before.doc, decoding: { beam: 4, ctcWeight: 1, lmWeight: 0.3 } });
    // Same files (no temporary left behind), same weights bytes.
    expect([...after.files.keys()]).toEqual([...before.files.keys()]);
    for (const [f, bytes] of before.files) if (f !== 'model.json') expect(after.files.get(f)!.equals(bytes), f).toBe(true);
    const loaded = await loadModel(plainDir);
    expect(loaded.decoding).toEqual({ beam: 4, ctcWeight: 1, lmWeight: 0.3 });
    expect(loaded.training).toEqual({ steps: 7, note: 'set-model-decoding' });
    loaded.model.dispose();

    // Setting again replaces the settings; {} removes them.
    await setModelDecoding(plainDir, { beam: 2 });
    expect((await snapshot(plainDir)).doc.decoding).toEqual({ beam: 2 });
    await setModelDecoding(plainDir, {});
    expect((await snapshot(plainDir)).doc).toEqual(before.doc);
  });

  it('rejects bad settings with the key named and leaves model.json as it was', async () => {
    const before = await readFile(path.join(plainDir, 'model.json'), 'utf8');
    await expect(setModelDecoding(plainDir, { beam: 0 })).rejects.toThrow(`cannot set the decoding settings of ${plainDir}: decoding.beam must be a positive integer (got 0)`);
    await expect(setModelDecoding(plainDir, { temperature: 1 })).rejects.toThrow(/decoding\.temperature is not a decoding setting/);
    await expect(setModelDecoding(plainDir, { decoder: 'ctc' })).rejects.toThrow(/decoding\.decoder is "ctc" but the model has no CTC head/);
    await expect(setModelDecoding(path.join(plainDir, 'nope'), { beam: 2 })).rejects.toThrow(/model\.json not found/);
    expect(await readFile(path.join(plainDir, 'model.json'), 'utf8')).toBe(before);
  });

  it('accepts the CTC decoder for a model with a CTC head', async () => {
    await setModelDecoding(ctcDir, { decoder: 'ctc' });
    const loaded = await loadModel(ctcDir);
    expect(loaded.decoding).toEqual({ decoder: 'ctc' });
    loaded.model.dispose();
  });
});

describe('node dist/scripts/set-model-decoding.js MODEL_DIR SETTINGS.json', () => {
  it('applies a settings file, and fails with one clear line on a bad one or without arguments', async () => {
    const settingsDir = await dirs.make('koe-setdec-settings-');
    const good = path.join(settingsDir, 'good.json');
    const bad = path.join(settingsDir, 'bad.json');
    await writeFile(good, JSON.stringify({ beam: 3, lengthBonus: 0.25 }));
    await writeFile(bad, JSON.stringify({ beam: 3, lengthBonus: -1 }));
    const ok = await run(process.execPath, [SCRIPT, plainDir, good]);
    expect(ok.stdout).toContain('"beam":3');
    expect((await snapshot(plainDir)).doc.decoding).toEqual({ beam: 3, lengthBonus: 0.25 });

    const failed = await run(process.execPath, [SCRIPT, plainDir, bad]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr.trim()).toMatch(/^set-model-decoding: cannot set the decoding settings of .*: decoding\.lengthBonus must be a finite number >= 0 \(got -1\)$/);
    expect((await snapshot(plainDir)).doc.decoding).toEqual({ beam: 3, lengthBonus: 0.25 });

    const usage = await run(process.execPath, [SCRIPT, plainDir]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(usage?.code).toBe(2);
    expect(usage?.stderr).toMatch(/^usage: /);
  });
});
