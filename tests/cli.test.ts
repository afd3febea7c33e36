/**
 * The `koe` executable end to end, as a user runs it: `node bin/koe.js ...` in a child process
 * (the compiled CLI in dist/, which `npm test` builds first). Help texts, backend selection,
 * clear failures without a model, training on the tiny fixtures, transcribing good and bad
 * files, and evaluation output.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setModelDecoding } from '../scripts/set-model-decoding.js';
import { initBackend } from '../src/backend.js';
import { DEFAULT_DECODE_OPTIONS } from '../src/decode/hypothesis.js';
import { readManifest } from '../src/io/manifest.js';
import { ErrorAccumulator } from '../src/metrics/wer.js';
import { DEFAULT_TEACHER_FORCING } from '../src/model/teacher-forcing.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_TRAIN_CONFIG } from '../src/train/config.js';
import { defaultModelDir, Transcriber } from '../src/transcriber.js';
import { FIXTURES, readTrainLog, REPO_ROOT, SMALL_MODEL, TempDirs, TINY_MANIFEST } from './helpers/tiny-model.js';

const KOE = path.join(REPO_ROOT, 'bin', 'koe.js');
const CLI_MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dirs = new TempDirs();

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node bin/koe.js ...args` from the repository root; KOE_BACKEND is unset unless given. */
function koe(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('KOE_BACKEND' in env)) delete childEnv.KOE_BACKEND;
  delete childEnv.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KOE, ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const fixture = (name: string): string => path.join(FIXTURES, name);

/** A model directory written by `koe train` in beforeAll, used by the transcribe and eval tests. */
let modelDir: string;
/** The same model, recommending beam 2 (model.json `decoding`). */
let recommendingDir: string;
let trainResult: CliResult;
let trainConfigFile: string;
let emptyDir: string;

/**
 * Every koe process takes seconds to start (TensorFlow.js loads), so the independent ones are
 * started together, early, and each test awaits its own. Started in beforeAll: `koe train`, and
 * alongside it everything that needs no model; once the model exists, everything that reads it.
 */
const early: Record<string, Promise<CliResult>> = {};
const started = (key: string): Promise<CliResult> => {
  const p = early[key];
  if (!p) throw new Error(`no process started as ${key}`);
  return p;
};
const good = [fixture('utt01.wav'), fixture('utt04.wav')];
let notWav: string;
let missing: string;
let hypFile: string;
const hasDefaultModel = existsSync(path.join(defaultModelDir(), 'model.json'));

beforeAll(async () => {
  if (!existsSync(CLI_MAIN)) {
    // `npm test` builds first; a bare `vitest run` may not have.
    await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: REPO_ROOT });
  }
  await initBackend('wasm');
  const tmp = await dirs.make('koe-cli-');
  modelDir = path.join(tmp, 'run');
  trainConfigFile = path.join(tmp, 'config.json');
  // The small model, all eight utterances in one batch: one step per epoch.
  await writeFile(
    trainConfigFile,
    JSON.stringify({
      model: SMALL_MODEL,
      learningRate: { peak: 0.01, warmupSteps: 2 },
      labelSmoothing: 0,
      maxBatchUtterances: 8,
      maxBatchFrames: 2000,
      epochs: 3,
      seed: 3,
    }),
  );
  emptyDir = await dirs.make('koe-nomodel-');
  notWav = path.join(tmp, 'notes.wav');
  await writeFile(notWav, 'these are notes, not audio\n');
  missing = path.join(tmp, 'missing.wav');
  hypFile = path.join(tmp, 'hyp.jsonl');

  const training = koe(['--backend', 'wasm', 'train', '--train', TINY_MANIFEST, '--valid', TINY_MANIFEST, '--out', modelDir, '--config', trainConfigFile, '--workers', '1']);
  early.help = koe(['--help']);
  for (const c of ['transcribe', 'eval', 'train', 'info', 'listen']) early[`help ${c}`] = koe([c, '--help']);
  early.info = koe(['info', '--json']);
  early['info env cpu'] = koe(['info', '--json'], { KOE_BACKEND: 'cpu' });
  early['info flag cpu'] = koe(['--backend', 'cpu', 'info']);
  early['info flag wasm env cpu'] = koe(['--backend', 'wasm', 'info', '--json'], { KOE_BACKEND: 'cpu' });
  early['unknown flag'] = koe(['--backend', 'gpu9', 'info']);
  early['unknown env'] = koe(['info'], { KOE_BACKEND: 'gpu9' });
  early['transcribe empty dir'] = koe(['--backend', 'wasm', 'transcribe', '--model', emptyDir, fixture('utt01.wav')]);
  if (!hasDefaultModel) early['transcribe default'] = koe(['--backend', 'wasm', 'transcribe', fixture('utt01.wav')]);
  // The newcomer's command: the shipped model on a shipped sample, with no flags.
  if (hasDefaultModel) early['transcribe shipped'] = koe(['--backend', 'wasm', 'transcribe', '--json', path.join('audio-samples', 'sample1.wav')]);
  trainResult = await training;
  if (trainResult.code !== 0) return; // the koe train test reports it

  const t = ['--backend', 'wasm', 'transcribe', '--model', modelDir];
  early['transcribe mixed'] = koe([...t, good[0]!, notWav, missing, good[1]!]);
  early['transcribe one'] = koe([...t, good[0]!]);
  early['transcribe json'] = koe([...t, '--json', ...good]);
  early['transcribe nbest'] = koe([...t, '--json', '--beam', '3', '--nbest', '2', good[0]!]);
  early['eval json'] = koe(['--backend', 'wasm', 'eval', '--model', modelDir, '--json', '--hyp', hypFile, TINY_MANIFEST]);
  early['eval text'] = koe(['--backend', 'wasm', 'eval', '--model', modelDir, TINY_MANIFEST]);
  // The fixtures plus one utterance whose audio does not exist.
  const withMissing = path.join(tmp, 'with-missing.jsonl');
  const fixtures = await readManifest(TINY_MANIFEST);
  await writeFile(
    withMissing,
    [...fixtures.map((e) => ({ audio_filepath: e.audioFilepath, text: e.text, duration: 1 })), { audio_filepath: missing, text: 'gone', duration: 1 }]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  early['eval ctc without head'] = koe(['--backend', 'wasm', 'eval', '--model', modelDir, '--decoder', 'ctc', TINY_MANIFEST]);
  early['eval skipped'] = koe(['--backend', 'wasm', 'eval', '--model', modelDir, '--json', withMissing]);
  recommendingDir = path.join(tmp, 'recommending');
  await mkdir(recommendingDir);
  for (const f of (await readdir(modelDir)).filter((f) => f === 'model.json' || /^model-[0-9a-f]+\.bin$/.test(f))) await copyFile(path.join(modelDir, f), path.join(recommendingDir, f));
  await setModelDecoding(recommendingDir, { beam: 2 });
  early['eval recommended'] = koe(['--backend', 'wasm', 'eval', '--model', recommendingDir, TINY_MANIFEST]);
  early['eval recommended --beam 1'] = koe(['--backend', 'wasm', 'eval', '--model', recommendingDir, '--beam', '1', TINY_MANIFEST]);
  early['info recommended'] = koe(['--backend', 'wasm', 'info', '--model', recommendingDir]);
  early['info recommended json'] = koe(['--backend', 'wasm', 'info', '--model', recommendingDir, '--json']);
  early['info plain json'] = koe(['--backend', 'wasm', 'info', '--model', modelDir, '--json']);
  early['refuse'] = koe(['--backend', 'wasm', 'train', '--train', TINY_MANIFEST, '--out', modelDir, '--config', trainConfigFile, '--workers', '1', '--quiet']);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(early));
  await dirs.cleanup();
});

describe('help', () => {
  it('koe --help lists the commands and the global options', async () => {
    const r = await started('help');
    expect(r.code).toBe(0);
    for (const command of ['transcribe', 'eval', 'train', 'average', 'info']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(r.stdout).toContain('--backend <name>');
    expect(r.stdout).toMatch(/"auto", "tensorflow", "wasm", "cpu"/);
    expect(r.stdout).toContain('KOE_BACKEND');
  });

  it("each command's --help documents its options with their defaults", async () => {
    const [transcribe, evaluate, train, info, listen] = await Promise.all(['transcribe', 'eval', 'train', 'info', 'listen'].map((c) => started(`help ${c}`)));
    const defaultModel = '(default: models/default)';
    const d = DEFAULT_DECODE_OPTIONS;
    /** The option's help (up to the next option) ends with the model-or-global default (help lines wrap). */
    const recommended = (flag: string, value: unknown): RegExp =>
      new RegExp(`${flag}(?:(?!\\n\\s+-)[^])*?\\(default:\\s+the\\s+model's\\s+recommended\\s+setting,\\s+else\\s+${String(value).replace('.', '\\.')}\\)`);
    for (const r of [transcribe!, evaluate!, train!, info!, listen!]) expect(r.code).toBe(0);
    for (const r of [transcribe!, evaluate!]) {
      expect(r.stdout).toContain(defaultModel);
      expect(r.stdout).toMatch(/--beam <n>\s+beam width \(1 = greedy\)/);
      expect(r.stdout).toMatch(recommended('--decoder <kind>', d.decoder));
      expect(r.stdout).toMatch(recommended('--beam <n>', d.beam));
      expect(r.stdout).toMatch(recommended('--length-penalty <x>', d.lengthPenalty));
      expect(r.stdout).toMatch(recommended('--lm-weight <x>', d.lmWeight));
      expect(r.stdout).toMatch(recommended('--length-bonus <x>', d.lengthBonus));
      expect(r.stdout).toMatch(recommended('--ctc-weight <x>', d.ctcWeight));
      expect(r.stdout).toMatch(/--hotword-boost <x>[^]*?\(default:\s+2\)/);
      expect(r.stdout).toContain('--json');
    }
    expect(listen!.stdout).toMatch(recommended('--beam <n>', 1));
    expect(transcribe!.stdout).toMatch(/--nbest <n>[^]*?\(default: 1\)/);
    expect(transcribe!.stdout).toContain('{"file","text","confidence","duration","rtf"');
    expect(evaluate!.stdout).toContain('{"wer","cer","sub","del","ins","words","utts","rtf"}');
    expect(evaluate!.stdout).toMatch(/--hyp <file>/);
    expect(evaluate!.stdout).toMatch(/--batch <n>[^]*?\(default: 16\)/);
    expect(info!.stdout).toContain(defaultModel);

    // koe train documents every training default, taken from the defaults the trainer uses.
    const t = train!.stdout;
    for (const flag of ['--train <manifest>', '--valid <manifest>', '--out <dir>', '--config <file>', '--resume', '--epochs <n>', '--max-steps <n>']) expect(t).toContain(flag);
    const c = DEFAULT_TRAIN_CONFIG;
    expect(t).toContain(`teacherForcing: ${JSON.stringify(DEFAULT_TEACHER_FORCING)}`);
    expect(t).toContain(`learningRate: ${JSON.stringify(c.learningRate)}`);
    expect(t).toContain(`epochs ${c.epochs}`);
    expect(t).toContain(`clipNorm ${c.clipNorm}`);
    expect(t).toContain(`maxBatchFrames ${c.maxBatchFrames}`);
    expect(t).toContain(`checkpointEvery ${c.checkpointEvery} steps`);
    expect(t).toContain(`${c.model.encoderLayers}-layer pyramidal BiLSTM, ${c.model.encoderUnits} units/direction`);
    expect(t).toMatch(/linear \{slope\}, exponential \{decay\}, inverse-sigmoid \{k\}/);
  });
});

describe('backend selection', () => {
  it('koe info names the backend it runs on', async () => {
    const r = await started('info');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { backend: string; backendFallbacks: string[] };
    expect(['tensorflow', 'wasm', 'cpu']).toContain(info.backend);
    expect(Array.isArray(info.backendFallbacks)).toBe(true);
  });

  it('honours KOE_BACKEND and --backend (the flag wins)', async () => {
    const env = await started('info env cpu');
    const flag = await started('info flag cpu');
    const both = await started('info flag wasm env cpu');
    for (const r of [env, flag, both]) expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(env.stdout) as { backend: string }).backend).toBe('cpu');
    expect(flag.stdout).toMatch(/^backend: cpu$/m);
    expect((JSON.parse(both.stdout) as { backend: string }).backend).toBe('wasm');
  });

  it('an unknown backend is a clear error', async () => {
    const flag = await started('unknown flag');
    const env = await started('unknown env');
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toMatch(/'gpu9' is invalid/);
    expect(flag.stderr).toContain('auto, tensorflow, wasm, cpu');
    expect(env.code).toBe(1);
    expect(env.stderr.trim()).toBe('koe: unknown backend "gpu9" (choose one of: auto, tensorflow, wasm, cpu)');
    expect(env.stdout).toBe('');
  });

  it('a backend chosen explicitly is kept when a model loads later, whatever KOE_BACKEND says', async () => {
    // What `KOE_BACKEND=cpu koe --backend wasm transcribe ...` does: start the flag's backend,
    // then Transcriber.load asks for the default one.
    const saved = process.env.KOE_BACKEND;
    try {
      await initBackend('wasm');
      process.env.KOE_BACKEND = 'cpu';
      expect((await initBackend()).name).toBe('wasm');
      expect(tf.getBackend()).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.KOE_BACKEND;
      else process.env.KOE_BACKEND = saved;
    }
  });
});

describe('without a model', () => {
  it('koe transcribe --model EMPTY_DIR fails with a clear message', async () => {
    const r = await started('transcribe empty dir');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`koe: ${emptyDir} is not a koe model directory (no model.json)`);
  });

  it.runIf(hasDefaultModel)('the shipped default model transcribes a shipped sample with no flags', async () => {
    const r = await started('transcribe shipped');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { file: string; text: string; duration: number; words: unknown[] };
    expect(out.file).toContain('sample1.wav');
    expect(out.duration).toBeCloseTo(3.461, 2);
    expect(out.text).toMatch(/^[a-z' ]+$/);
  });

  it.skipIf(hasDefaultModel)('koe transcribe without --model explains that no default model is installed', async () => {
    const r = await started('transcribe default');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const message = r.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('no default model is installed');
    expect(message).toContain(defaultModelDir());
    expect(message).toContain('koe train');
    expect(message).toContain('--model DIR');
  });
});

describe('koe train', () => {
  it('trains on the tiny fixtures and writes the model, checkpoint and log', async () => {
    expect(trainResult.code, trainResult.stderr).toBe(0);
    const files = await readdir(modelDir);
    expect(files).toContain('model.json');
    expect(files).toContain('checkpoint.json');
    expect(files).toContain('train-log.jsonl');
    expect(files.filter((f) => /^model-[0-9a-f]+\.bin$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => /^checkpoint-[0-9a-f]+\.bin$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);

    expect((await readTrainLog(modelDir)).map((l) => l.step)).toEqual([0, 1, 2]);
    const ck = await readCheckpoint(modelDir);
    expect(ck.progress).toMatchObject({ step: 3, epoch: 3, batchInEpoch: 0 });
    expect(ck.progress.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const e of ck.progress.epochs) {
      expect(typeof e.validCer).toBe('number');
      expect(typeof e.validWer).toBe('number');
    }
    tf.dispose([...Object.values(ck.params), ...Object.values(ck.adam)]);
    // The stored config is the file's, completed with the defaults.
    expect(ck.config.model.encoderUnits).toBe(SMALL_MODEL.encoderUnits);
    expect(ck.config.clipNorm).toBe(DEFAULT_TRAIN_CONFIG.clipNorm);

    // Progress and validation CER/WER per epoch are reported on stderr, nothing on stdout.
    expect(trainResult.stdout).toBe('');
    expect(trainResult.stderr).toContain('koe train: backend wasm');
    for (const epoch of [1, 2, 3]) expect(trainResult.stderr).toMatch(new RegExp(`epoch ${epoch}: train loss [0-9.]+, valid loss [0-9.]+, CER [0-9.]+%, WER [0-9.]+%`));
  });

  it('refuses to start over an existing run without --resume', async () => {
    const r = await started('refuse');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already holds a training checkpoint: pass --resume/);
    expect((await readTrainLog(modelDir)).map((l) => l.step)).toEqual([0, 1, 2]);
  });
});

describe('koe transcribe', () => {
  /** What the library says for the same model, backend and file. */
  async function libraryText(file: string): Promise<string> {
    const t = await Transcriber.load(modelDir, { backend: 'wasm' });
    try {
      return (await t.transcribe(file)).text;
    } finally {
      t.dispose();
    }
  }

  it('prints the transcript of the good files and one error line per bad file, then exits 1', async () => {
    const r = await started('transcribe mixed');
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([`${good[0]}: ${await libraryText(good[0]!)}`, `${good[1]}: ${await libraryText(good[1]!)}`]);
    const errors = r.stderr.split('\n').filter(Boolean);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^koe: ${notWav}: not a WAV file`));
    expect(errors[1]).toBe(`koe: ${missing}: file not found`);
  });

  it('a single good file prints just its transcript and exits 0', async () => {
    const r = await started('transcribe one');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${await libraryText(good[0]!)}\n`);
  });

  it('--json prints one object per file with file, text, confidence, duration and rtf', async () => {
    const plain = await started('transcribe mixed');
    const json = await started('transcribe json');
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    const durations = new Map((await readManifest(TINY_MANIFEST)).map((e) => [e.audioFilepath, e.duration]));
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['file', 'text', 'confidence', 'duration', 'rtf']));
      expect(line.file).toBe(good[i]);
      expect(typeof line.text).toBe('string');
      expect(plain.stdout).toContain(`${good[i]}: ${String(line.text)}\n`);
      expect(line.confidence as number).toBeGreaterThan(0);
      expect(line.confidence as number).toBeLessThanOrEqual(1);
      expect(line.duration as number).toBeCloseTo(durations.get(good[i]!) as number, 2);
      expect(line.rtf as number).toBeGreaterThan(0);
    });
  });

  it('--nbest with --json adds the n best hypotheses, best first', async () => {
    const r = await started('transcribe nbest');
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout) as { text: string; nbest: { text: string; score: number; logProb: number }[] };
    expect(line.nbest).toHaveLength(2);
    expect(line.nbest[0]!.text).toBe(line.text);
    expect(line.nbest[0]!.score).toBeGreaterThanOrEqual(line.nbest[1]!.score);
  });
});

describe('koe eval', () => {
  it('--json prints the summary and --hyp writes one line per utterance that reproduces it', async () => {
    const r = await started('eval json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const summary = JSON.parse(r.stdout) as Record<string, number>;
    expect(Object.keys(summary).sort()).toEqual(['cer', 'del', 'ins', 'rtf', 'sub', 'utts', 'wer', 'words']);
    const refs = await readManifest(TINY_MANIFEST);
    expect(summary.utts).toBe(refs.length);
    expect(summary.words).toBe(refs.reduce((n, e) => n + e.text.split(' ').length, 0));
    expect(summary.wer).toBeCloseTo((summary.sub! + summary.del! + summary.ins!) / summary.words!, 5);
    expect(summary.rtf).toBeGreaterThan(0);

    const hyps = (await readFile(hypFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { audio_filepath: string; text: string; ref: string });
    expect(hyps.map((h) => h.audio_filepath)).toEqual(refs.map((e) => e.audioFilepath));
    expect(hyps.map((h) => h.ref)).toEqual(refs.map((e) => e.text));
    const acc = new ErrorAccumulator();
    for (const h of hyps) acc.add(h.ref, h.text);
    expect(summary.wer).toBeCloseTo(acc.wer, 5);
    expect(summary.cer).toBeCloseTo(acc.cer, 5);

    // Batched greedy decoding in eval gives what transcribe gives file by file.
    const json = (await started('transcribe json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; text: string });
    for (const line of json) expect(hyps.find((h) => h.audio_filepath === line.file)?.text).toBe(line.text);
  });

  it('reports an unreadable audio file, scores the others and exits 1', async () => {
    const r = await started('eval skipped');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/skipped .*missing\.wav/);
    const summary = JSON.parse(r.stdout) as Record<string, number>;
    expect(summary.utts).toBe(8);
    expect(summary.skipped).toBe(1);
  });

  it('--decoder ctc with a model that has no CTC head fails with one clear line', async () => {
    const r = await started('eval ctc without head');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no CTC head/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('without --json prints WER, CER and the real-time factor', async () => {
    const r = await started('eval text');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^utterances\s+8 /m);
    expect(r.stdout).toMatch(/^WER\s+[0-9.]+%\s+\(S \d+, D \d+, I \d+ of 15 words\)/m);
    expect(r.stdout).toMatch(/^CER\s+[0-9.]+%/m);
    expect(r.stdout).toMatch(/^RTF\s+[0-9.]+/m);
  });
});

describe("a model's recommended decoding settings", () => {
  it('koe eval uses them without flags; a flag overrides them', async () => {
    const [byModel, byFlag] = await Promise.all([started('eval recommended'), started('eval recommended --beam 1')]);
    expect(byModel.code, byModel.stderr).toBe(0);
    expect(byModel.stdout).toMatch(/^utterances\s+8 \(.*\), beam 2$/m);
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toMatch(/^utterances\s+8 \(.*\), greedy$/m);
  });

  it('koe info shows them', async () => {
    const [text, json] = await Promise.all([started('info recommended'), started('info recommended json')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^\s+recommended decoding: beam 2 \(flags override\)$/m);
    expect(text.stdout).toMatch(/^\s+features: 13 MFCCs \+ deltas \+ delta-deltas \(40 mel bands, 25 ms window, 10 ms hop\), cepstral mean normalization off$/m);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { model: { decoding: unknown } }).model.decoding).toEqual({ beam: 2 });
    // A model without them shows none.
    const plain = await started('info plain json');
    expect(plain.code, plain.stderr).toBe(0);
    expect((JSON.parse(plain.stdout) as { model: { decoding?: unknown } }).model.decoding).toBeUndefined();
  });
});

// Last: it changes the model directory the tests above read.
describe('koe train --resume', () => {
  it('continues the run', async () => {
    await Promise.all(Object.values(early));
    const r = await koe(['--backend', 'wasm', 'train', '--train', TINY_MANIFEST, '--out', modelDir, '--config', trainConfigFile, '--workers', '1', '--quiet', '--resume', '--epochs', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect((await readTrainLog(modelDir)).map((l) => l.step)).toEqual([0, 1, 2, 3]);
    const ck = await readCheckpoint(modelDir);
    expect(ck.progress).toMatchObject({ step: 4, epoch: 4 });
    tf.dispose([...Object.values(ck.params), ...Object.values(ck.adam)]);
  });
});
