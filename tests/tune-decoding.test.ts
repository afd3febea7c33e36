/**
 * scripts/tune-decoding.ts: the grid axes it accepts, the coordinate search (each setting scored
 * once, the best kept, early stop), what it writes for model.json, and the compiled script end to
 * end on a small trained model, whose best score must equal `koe eval` with the same settings.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setModelDecoding } from '../scripts/set-model-decoding.js';
import { coordinateSearch, decodingToWrite, parseAxis, type Score, type Settings } from '../scripts/tune-decoding.js';
import { initBackend } from '../src/backend.js';
import { REPO_ROOT, TempDirs, TINY_MANIFEST, trainSmallModel } from './helpers/tiny-model.js';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'dist', 'scripts', 'tune-decoding.js');
const KOE = path.join(REPO_ROOT, 'bin', 'koe.js');
const dirs = new TempDirs();

const START: Settings = { beam: 4, ctcWeight: 0.3, lmWeight: 0.2, lengthBonus: 0.5, wordLmWeight: 0.3, oovPenalty: 2, wordBonus: 0, lengthPenalty: 1 };
const score = (wer: number, cer = wer): Score => ({ wer, cer, sub: 0, del: 0, ins: 0 });

describe('parseAxis', () => {
  it('reads a key and its distinct values', () => {
    expect(parseAxis('lmWeight=0.1, 0.2,0.3,0.2')).toEqual({ key: 'lmWeight', values: [0.1, 0.2, 0.3] });
    expect(parseAxis('beam=2,8')).toEqual({ key: 'beam', values: [2, 8] });
  });

  it('rejects unknown keys, non-numbers, negative values and beams below 2', () => {
    expect(() => parseAxis('temperature=1')).toThrow(/unknown setting "temperature"/);
    expect(() => parseAxis('lmWeight')).toThrow(/expected KEY=V1,V2/);
    expect(() => parseAxis('lmWeight=0.1,x')).toThrow(/"x" is not a number/);
    expect(() => parseAxis('lmWeight=0.1,')).toThrow(/"" is not a number/);
    expect(() => parseAxis('ctcWeight=-0.1')).toThrow(/must not be negative/);
    expect(() => parseAxis('beam=1,4')).toThrow(/at least 2/);
    expect(() => parseAxis('beam=2.5')).toThrow(/integers/);
  });
});

describe('coordinateSearch', () => {
  // A separable objective with its minimum at lmWeight 0.3, ctcWeight 0.5.
  const objective = (s: Settings): Score => score(Math.abs(s.lmWeight - 0.3) + Math.abs(s.ctcWeight - 0.5));
  const axes = [parseAxis('lmWeight=0.1,0.2,0.3,0.4'), parseAxis('ctcWeight=0,0.3,0.5,0.7')];

  it('finds the best setting axis by axis and scores each setting once, the start first', async () => {
    const calls: Settings[] = [];
    const { best, trials } = await coordinateSearch(START, axes, async (s) => (calls.push(s), objective(s)), 3);
    expect(best.settings).toEqual({ ...START, lmWeight: 0.3, ctcWeight: 0.5 });
    expect(best.score.wer).toBeCloseTo(0, 12);
    expect(calls[0]).toEqual(START);
    const keys = calls.map((s) => `${s.lmWeight}/${s.ctcWeight}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(trials.map((t) => t.settings)).toEqual(calls);
    // Pass 1: the start, 3 more lmWeights, 3 more ctcWeights (at lmWeight 0.3); pass 2: the other
    // 3 lmWeights at ctcWeight 0.5, no better, so it stops before a third pass.
    expect(calls).toHaveLength(10);
  });

  it('breaks WER ties by CER and keeps the earlier setting on a full tie', async () => {
    const axis = [parseAxis('lmWeight=0.1,0.3,0.5')];
    const byCer = await coordinateSearch(START, axis, async (s) => score(0.5, s.lmWeight === 0.5 ? 0.1 : 0.2));
    expect(byCer.best.settings.lmWeight).toBe(0.5);
    const tie = await coordinateSearch(START, axis, async () => score(0.5));
    expect(tie.best.settings).toEqual(START);
  });
});

describe('decodingToWrite', () => {
  it("keeps the model's other recommended settings and takes the beam and the tuned ones from the best", () => {
    const best = { ...START, beam: 8, lmWeight: 0.4, ctcWeight: 0.1 };
    expect(decodingToWrite({ beam: 4, oovPenalty: 1, decoder: 'attention' }, best, [parseAxis('lmWeight=0.4'), parseAxis('ctcWeight=0.1')])).toEqual({
      beam: 8,
      oovPenalty: 1,
      decoder: 'attention',
      lmWeight: 0.4,
      ctcWeight: 0.1,
    });
  });
});

describe('tune-decoding script', () => {
  let modelDir: string;
  let outFile: string;

  beforeAll(async () => {
    if (!existsSync(SCRIPT)) {
      await run(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
    }
    await initBackend('cpu');
    modelDir = await dirs.make('koe-tune-');
    await trainSmallModel(modelDir, 30);
    await setModelDecoding(modelDir, { beam: 3, oovPenalty: 1 });
    outFile = path.join(await dirs.make('koe-tune-out-'), 'decoding.json');
  }, 120_000);
  afterAll(async () => {
    await dirs.cleanup();
  });

  it('searches the grid, prints every trial and writes the best, which koe eval scores the same', async () => {
    const { stdout } = await run(
      process.execPath,
      [SCRIPT, '--manifest', TINY_MANIFEST, '--model', modelDir, '--backend', 'cpu', '--axis', 'lengthPenalty=0,0.5,1', '--out', outFile],
      { cwd: REPO_ROOT },
    );
    expect(stdout).toMatch(/^8 utterances of /);
    expect(stdout).toMatch(/\| beam \| lengthPenalty \| +WER \| +CER \|/);
    const written = JSON.parse(await readFile(outFile, 'utf8')) as Record<string, number>;
    expect(written.beam).toBe(3);
    expect(written.oovPenalty).toBe(1);
    expect([0, 0.5, 1]).toContain(written.lengthPenalty);
    const best = /best: WER ([0-9.]+)%, CER ([0-9.]+)%/.exec(stdout);
    expect(best).not.toBeNull();

    // The written setting applied to the model reads the same figures in koe eval.
    await setModelDecoding(modelDir, written);
    const evalOut = await run(process.execPath, [KOE, '--backend', 'cpu', 'eval', TINY_MANIFEST, '--model', modelDir, '--json'], { cwd: REPO_ROOT });
    const report = JSON.parse(evalOut.stdout.trim().split('\n').pop() as string) as { wer: number; cer: number };
    expect((report.wer * 100).toFixed(2)).toBe(best![1]);
    expect((report.cer * 100).toFixed(2)).toBe(best![2]);
  }, 120_000);

  it('says what is wrong with a bad axis', async () => {
    await expect(run(process.execPath, [SCRIPT, '--manifest', TINY_MANIFEST, '--model', modelDir, '--axis', 'beam=1'], { cwd: REPO_ROOT })).rejects.toMatchObject({
      stderr: expect.stringMatching(/beam: values must be integers of at least 2/),
    });
  });
});
