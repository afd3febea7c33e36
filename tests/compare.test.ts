/**
 * scripts/compare.ts (`npm run compare`): the pocketsphinx hyp parsing and clean-up, the table,
 * and the compiled script end to end on the committed tiny fixtures without a koe model (it must
 * still print a pocketsphinx row and exit 0). The end-to-end part needs pocketsphinx_batch and the
 * pocketsphinx-en-us model (scripts/setup-tts.sh installs them) and is skipped, with the reason
 * printed, where they are missing. It runs the compiled script in dist/, which `npm test` builds.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { beamRuns, cleanSphinxText, DEFAULT_SPHINX_MODEL, formatByVoice, formatTable, parseHypFile, parseSphinxTotals, scoreByVoice, type SystemResult } from '../scripts/compare.js';
import { which } from '../scripts/corpus/voices.js';
import { packageRoot } from '../src/util/package-root.js';

const ROOT = packageRoot();
const SCRIPT = path.join(ROOT, 'dist', 'scripts', 'compare.js');
const TINY = path.join(ROOT, 'tests', 'fixtures', 'tiny');
const TINY_MANIFEST = path.join(TINY, 'manifest.jsonl');

const skipReason = !which('pocketsphinx_batch')
  ? 'pocketsphinx_batch not installed (run: sudo bash scripts/setup-tts.sh)'
  : !existsSync(path.join(DEFAULT_SPHINX_MODEL, 'en-us.lm.bin'))
    ? `pocketsphinx-en-us model not found in ${DEFAULT_SPHINX_MODEL} (run: sudo bash scripts/setup-tts.sh)`
    : '';
if (skipReason) console.warn(`[compare.test] skipping the pocketsphinx runs: ${skipReason}`);

const temps: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function compare(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: build first (npx tsc -p tsconfig.json)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lastJson(stdout: string): { systems: Array<Record<string, unknown>>; skipped: Record<string, string>; utts: number; cores: number; loadavgStart: number[] } {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string);
}

describe('pocketsphinx output', () => {
  it('parses hyp lines, including empty hypotheses and ids with paths', () => {
    const hyps = parseHypFile('yes (u000000 -1894)\n (u000001 -2058)\nlo where luke (dir/u000002 -6518)\r\n\nnot a hyp line\n');
    expect([...hyps.entries()]).toEqual([
      ['u000000', 'yes'],
      ['u000001', ''],
      ['dir/u000002', 'lo where luke'],
    ]);
  });

  it('drops fillers and alternate-pronunciation marks, then normalizes', () => {
    expect(cleanSphinxText('<s> <sil> Hello [NOISE] world(2) ++breath++ </s>')).toBe('hello world');
    expect(cleanSphinxText("they're the right")).toBe("they're the right");
    expect(cleanSphinxText('')).toBe('');
    expect(cleanSphinxText('<sil>')).toBe('');
  });

  it('reads the decode-only totals from its log', () => {
    const log = 'INFO: batch.c(777): TOTAL 8.68 seconds speech, 4.66 seconds CPU, 9.37 seconds wall\nINFO: ngram_search_fwdtree.c(427): TOTAL fwdtree 4.21 CPU 0.485 xRT\n';
    expect(parseSphinxTotals(log)).toEqual({ speech: 8.68, cpu: 4.66, wall: 9.37 });
    expect(parseSphinxTotals('nothing here')).toBeNull();
  });
});

describe('the table', () => {
  it('has one row per system with rates in percent', () => {
    const row = (system: string, wer: number): SystemResult => ({
      system,
      wer,
      cer: wer / 2,
      sub: 3,
      del: 1,
      ins: 0,
      words: 10,
      utts: 2,
      rtf: 0.5,
      audioSeconds: 4,
      seconds: 2,
      utterances: [],
    });
    const lines = formatTable([row('pocketsphinx', 0.4), row('koe beam 8', 0.125)]).split('\n');
    expect(lines[0]).toMatch(/^\| system +\| +WER \| +CER \| S \| D \| I \| +RTF \| utterances \|$/);
    expect(lines[1]).toMatch(/^\|-+\|(-+:\|){7}$/);
    expect(lines[2]).toMatch(/^\| pocketsphinx +\| 40\.00% \| 20\.00% \| 3 \| 1 \| 0 \| 0\.500 \| +2 \|$/);
    expect(lines[3]).toMatch(/^\| koe beam 8 +\| 12\.50% \|  6\.25% \|/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('scores each system per voice', () => {
    const row: SystemResult = {
      system: 'koe greedy',
      ...{ wer: 0, cer: 0, sub: 0, del: 0, ins: 0, words: 0, utts: 3, rtf: 0.1, audioSeconds: 3, seconds: 0.3 },
      utterances: [
        { audioPath: '/a.wav', ref: 'the cat sat', hyp: 'the cat sat' },
        { audioPath: '/b.wav', ref: 'a dog ran', hyp: 'a dig ran' },
        { audioPath: '/c.wav', ref: 'no voice here', hyp: 'wrong' },
      ],
    };
    const byVoice = scoreByVoice([row], new Map([['/a.wav', 'rms'], ['/b.wav', 'ked']]));
    expect(byVoice['koe greedy']).toEqual({ ked: { wer: 1 / 3, cer: 1 / 9, utts: 1 }, rms: { wer: 0, cer: 0, utts: 1 } });
    const lines = formatByVoice(byVoice).split('\n');
    expect(lines[0]).toMatch(/^\| system +\| +ked WER \/ CER \| rms WER \/ CER \|$/);
    expect(lines[2]).toMatch(/^\| koe greedy \| 33\.33% \/ 11\.11% \| 0\.00% \/ 0\.00% \|$/);
  });
});

describe('npm run compare', () => {
  it('documents its options and defaults', async () => {
    const r = await compare(['--help']);
    expect(r.code).toBe(0);
    for (const s of ['--manifest', 'data/corpus/test.jsonl', '--model', 'models/default', '--beam', '(default: 8)', '--limit', '--json']) {
      expect(r.stdout).toContain(s);
    }
  });

  it.skipIf(!!skipReason)('prints a pocketsphinx row without a koe model, and exits 0', async () => {
    const noModel = tempDir('koe-compare-nomodel-');
    const tmp = tempDir('koe-compare-tmp-'); // TMPDIR of the child: its work folder must be gone afterwards
    // Three of the eight fixtures (yes / no / hello world, 2.9 s) keep this well under 20 s on a busy machine.
    const r = await compare(['--manifest', TINY_MANIFEST, '--model', noModel, '--limit', '3'], { TMPDIR: tmp });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${noModel} has no model.json`);
    expect(r.stdout).toMatch(/^\| pocketsphinx +\| +\d+\.\d\d% \| +\d+\.\d\d% \| +\d+ \| +\d+ \| +\d+ \| +\d+\.\d{3} \| +3 \|$/m);
    expect(r.stdout).not.toMatch(/^\| koe/m);
    expect(r.stdout).toMatch(/load average \(1\/5\/15 min\): [\d.]+ \/ [\d.]+ \/ [\d.]+ .*\d+ cores/);
    const json = lastJson(r.stdout);
    expect(json.utts).toBe(3);
    expect(json.cores).toBeGreaterThan(0);
    expect(json.loadavgStart).toHaveLength(3);
    expect(json.systems).toHaveLength(1);
    const ps = json.systems[0] as Record<string, number | string>;
    expect(ps['system']).toBe('pocketsphinx');
    expect(ps['words']).toBe(4);
    expect(ps['utts']).toBe(3);
    expect(ps['wer']).toBeGreaterThanOrEqual(0);
    expect(ps['rtf']).toBeGreaterThan(0);
    expect(json.skipped['koe']).toMatch(/no model\.json/);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it.skipIf(!!skipReason || !which('sox'))('converts other WAV formats with sox and writes hypotheses with --hyp', async () => {
    const dir = tempDir('koe-compare-sox-');
    const src = path.join(TINY, 'utt01.wav');
    const wav = path.join(dir, 'yes-22k-stereo.wav');
    await new Promise<void>((resolve, reject) => {
      const c = spawn('sox', [src, '-r', '22050', '-c', '2', wav]);
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sox exited ${code}`))));
    });
    const manifest = path.join(dir, 'm.jsonl');
    await writeFile(manifest, JSON.stringify({ audio_filepath: 'yes-22k-stereo.wav', text: 'Yes.' }) + '\n');
    const hyp = path.join(dir, 'hyp.jsonl');
    const r = await compare(['--manifest', manifest, '--model', path.join(dir, 'none'), '--json', '--hyp', hyp]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // --json: only the summary line
    const ps = lastJson(r.stdout).systems[0] as { details: { convertedWithSox: number }; utts: number };
    expect(ps.utts).toBe(1);
    expect(ps.details.convertedWithSox).toBe(1);
    const lines = (await readFile(hyp, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ system: 'pocketsphinx', ref: 'yes', audio_filepath: wav });
    expect(typeof lines[0]!['text']).toBe('string');
  });
});

describe('compare: beam-search rows', () => {
  const defaults = { lmWeight: 0.3, wordLmWeight: 0.2, ctcWeight: 0.3 };
  it('runs the defaults first, then each scorer turned off, then attention alone', () => {
    expect(beamRuns(8, { lm: true, wordLm: false, ctc: true }, defaults)).toEqual([
      { system: 'koe beam 8 + LM 0.3 + CTC 0.3', greedy: false },
      { system: 'koe beam 8 + LM 0.3', greedy: false, ctcWeight: 0 },
      { system: 'koe beam 8 + CTC 0.3', greedy: false, lmWeight: 0 },
      { system: 'koe beam 8 (attention only)', greedy: false, lmWeight: 0, ctcWeight: 0 },
    ]);
  });
  it('turns the character and word LMs on and off together, and names both', () => {
    expect(beamRuns(4, { lm: true, wordLm: true, ctc: true }, defaults)).toEqual([
      { system: 'koe beam 4 + LM 0.3 + word LM 0.2 + CTC 0.3', greedy: false },
      { system: 'koe beam 4 + LM 0.3 + word LM 0.2', greedy: false, ctcWeight: 0 },
      { system: 'koe beam 4 + CTC 0.3', greedy: false, lmWeight: 0, wordLmWeight: 0 },
      { system: 'koe beam 4 (attention only)', greedy: false, lmWeight: 0, wordLmWeight: 0, ctcWeight: 0 },
    ]);
    expect(beamRuns(4, { lm: false, wordLm: true, ctc: false }, defaults)).toEqual([
      { system: 'koe beam 4 + word LM 0.2', greedy: false },
      { system: 'koe beam 4 (attention only)', greedy: false, wordLmWeight: 0 },
    ]);
  });
  it('has one plain row for a model with neither', () => {
    expect(beamRuns(4, { lm: false, wordLm: false, ctc: false }, defaults)).toEqual([{ system: 'koe beam 4', greedy: false }]);
  });
});
