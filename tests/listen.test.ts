/**
 * `koe listen` end to end, as a user runs it (`node bin/koe.js listen ...`, built dist/):
 *
 * - with `--input FILE --fast` (no audio system needed), and
 * - with a real (virtual) microphone: a PulseAudio null sink whose monitor is the default
 *   source (scripts/virtual-mic.sh), into which two utterances with a pause between them
 *   are played with paplay while `koe listen --json` records through sox.
 *
 * Both must give two final transcripts (each after at least one partial) that match what
 * `koe transcribe` gives for the same two files with the same model (character error rate
 * <= 10%, allowing for the different segmentation). There is no shipped model: a small one
 * is trained here on the two utterances (about 25 s of CPU).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav, loadAudio } from '../src/audio/index.js';
import { initBackend } from '../src/backend.js';
import { findExecutable } from '../src/listen/sources.js';
import { charErrors, errorRate } from '../src/metrics/wer.js';
import { sentenceModelConfig } from './helpers/tiny-model.js';
import { train } from '../src/train/trainer.js';
import { Transcriber } from '../src/transcriber.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const koe = path.join(root, 'bin', 'koe.js');
const fixtures = path.join(root, 'tests', 'fixtures', 'tiny');
const SR = 16000;

const MIC_TOOLS = ['pulseaudio', 'pactl', 'paplay', 'sox'];
const missingTools = MIC_TOOLS.filter((t) => !findExecutable(t));
const micSkipReason =
  missingTools.length > 0
    ? `${missingTools.join(', ')} not installed (apt-get install -y --no-install-recommends sox libsox-fmt-pulse alsa-utils pulseaudio pulseaudio-utils libasound2-plugins)`
    : undefined;
if (micSkipReason) console.warn(`tests/listen.test.ts: virtual-microphone test skipped: ${micSkipReason}`);

/** The environment the virtual microphone's clients need (see scripts/virtual-mic.sh). */
const micEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.VMIC_RUNTIME_DIR ?? '/tmp/vmic-xdg', PULSE_LATENCY_MSEC: '30' };

interface Event {
  event: string;
  utterance?: number;
  text?: string;
  start?: number;
  end?: number;
  reason?: string;
  wav?: string;
  pid?: number;
  [k: string]: unknown;
}

const zeros = (seconds: number): Float32Array => new Float32Array(Math.round(seconds * SR));
function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const cer = (ref: string, hyp: string): number => errorRate(charErrors(ref, hyp));

/** A running `koe listen`, its JSON events as they come, and a way to wait for one. */
class ListenProcess {
  readonly events: Event[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { pred: (events: Event[]) => boolean; resolve: () => void }[] = [];
  readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [koe, 'listen', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as Event);
      this.waiters = this.waiters.filter((w) => (w.pred(this.events) ? (w.resolve(), false) : true));
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  waitFor(what: string, pred: (events: Event[]) => boolean, timeoutMs: number): Promise<void> {
    if (pred(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}; stderr: ${this.stderr.join('\n')}`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ pred, resolve: done });
      void this.exited.then(() => setTimeout(() => reject(new Error(`koe listen exited while waiting for ${what}; stderr: ${this.stderr.join('\n')}`)), 50));
    });
  }

  finals(): Event[] {
    return this.events.filter((e) => e.event === 'final');
  }
}

/** Each final has at least one partial of the same utterance before it. */
function expectPartialsBeforeFinals(events: Event[], finals: Event[]): void {
  for (const f of finals) {
    const at = events.indexOf(f);
    const partials = events.slice(0, at).filter((e) => e.event === 'partial' && e.utterance === f.utterance);
    expect(partials.length, `partials of utterance ${f.utterance}`).toBeGreaterThanOrEqual(1);
  }
}

describe('koe listen', () => {
  let tmp: string;
  let model: string;
  const utterances = [
    { file: '', text: 'hello world open the door', duration: 0 },
    { file: '', text: 'good morning turn right', duration: 0 },
  ];
  /** What `koe transcribe` says for the two files. */
  let reference: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p tsconfig.json');
    await initBackend('wasm');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'koe-listen-'));
    const fx = (n: number): Promise<Float32Array> => loadAudio(path.join(fixtures, `utt0${n}.wav`));
    // Two "sentences" of two fixture utterances each, ~2.6-2.9 s: long enough for partials.
    const audio = [concat(zeros(0.15), await fx(3), zeros(0.1), await fx(7), zeros(0.15)), concat(zeros(0.15), await fx(8), zeros(0.1), await fx(6), zeros(0.15))];
    let manifest = '';
    for (const [i, u] of utterances.entries()) {
      u.file = path.join(tmp, `utt-${i + 1}.wav`);
      u.duration = (audio[i] as Float32Array).length / SR;
      await writeFile(u.file, encodeWav(audio[i] as Float32Array, SR));
      manifest += JSON.stringify({ audio_filepath: u.file, text: u.text, duration: u.duration }) + '\n';
    }
    await writeFile(path.join(tmp, 'train.jsonl'), manifest);
    // A small model that learns the two sentences by heart (deterministic: fixed seed).
    model = path.join(tmp, 'model');
    const config = sentenceModelConfig();
    await train({ trainManifest: path.join(tmp, 'train.jsonl'), outDir: model, config, resume: false, quiet: true });
    const { stdout } = await run(process.execPath, [koe, 'transcribe', '--model', model, '--json', ...utterances.map((u) => u.file)]);
    reference = stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(reference).toHaveLength(2);
  }, 400_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('--input --fast: a file streamed through the dictation path gives partials, then finals that match koe transcribe', async () => {
    const [a, b] = await Promise.all(utterances.map((u) => loadAudio(u.file)));
    const session = path.join(tmp, 'session.wav');
    await writeFile(session, encodeWav(concat(zeros(1), a!, zeros(1.5), b!, zeros(1)), SR));
    const takes = path.join(tmp, 'takes');
    const p = new ListenProcess(['--model', model, '--input', session, '--fast', '--json', '--save-dir', takes]);
    expect(await p.exited, p.stderr.join('\n')).toBe(0);

    const kinds = p.events.map((e) => e.event);
    expect(kinds[0]).toBe('ready');
    expect(p.events[0]).toMatchObject({ source: 'file', file: session, sampleRate: 16000 });
    expect(kinds[kinds.length - 1]).toBe('end');
    const finals = p.finals();
    expect(finals.map((f) => f.reason)).toEqual(['silence', 'silence']);
    expectPartialsBeforeFinals(p.events, finals);
    finals.forEach((f, i) => expect(cer(reference[i]!, f.text!), `${f.text} vs ${reference[i]}`).toBeLessThanOrEqual(0.1));

    // Each final lies around its sentence: [1, 1 + a] and [2.5 + a, 2.5 + a + b] seconds.
    const da = utterances[0]!.duration;
    const spans = [
      [1, 1 + da],
      [2.5 + da, 2.5 + da + utterances[1]!.duration],
    ];
    finals.forEach((f, i) => {
      expect(f.start!).toBeGreaterThanOrEqual(spans[i]![0]! - 0.25);
      expect(f.end!).toBeLessThanOrEqual(spans[i]![1]! + 0.25);
      expect(f.end! - f.start!).toBeGreaterThan(0.6 * (spans[i]![1]! - spans[i]![0]!));
    });

    // --save-dir: each utterance as a WAV, which transcribes to the same final text.
    expect((await readdir(takes)).sort()).toEqual(finals.map((f) => path.basename(f.wav!)).sort());
    const t = await Transcriber.load(model);
    for (const f of finals) {
      const r = await t.transcribe(f.wav!);
      expect(r.text).toBe(f.text);
      expect(r.duration).toBeCloseTo(f.end! - f.start!, 2);
    }
    t.dispose();
  }, 60_000);

  it('plain output: finals only, one per line; --partials adds prefixed lines', async () => {
    const { stdout } = await run(process.execPath, [koe, 'listen', '--model', model, '--input', utterances[0]!.file, '--fast']);
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(1);
    const withPartials = (await run(process.execPath, [koe, 'listen', '--model', model, '--input', utterances[0]!.file, '--fast', '--partials'])).stdout.split('\n').filter(Boolean);
    expect(withPartials.length).toBeGreaterThan(1);
    expect(withPartials.slice(0, -1).every((l) => l.startsWith('[partial] '))).toBe(true);
    expect(withPartials[withPartials.length - 1]).toBe(stdout.trim());
  }, 60_000);

  it(`virtual microphone: two spoken utterances give partials and two finals that match koe transcribe; Ctrl-C finalizes and exits 0${micSkipReason ? ` (skipped: ${micSkipReason})` : ''}`, async (ctx) => {
    if (micSkipReason) return ctx.skip();
    const vmic = path.join(root, 'scripts', 'virtual-mic.sh');
    // CI starts the virtual microphone beforehand; otherwise start it here and stop it afterwards.
    const wasUp = await run(vmic, ['status'], { env: micEnv }).then(
      () => true,
      () => false,
    );
    if (!wasUp) await run(vmic, ['start'], { env: micEnv });
    ctx.onTestFinished(async () => {
      if (!wasUp) await run(vmic, ['stop'], { env: micEnv });
    });
    const p = new ListenProcess(['--model', model, '--json'], micEnv);
    ctx.onTestFinished(() => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    });
    // The first chunk from the recorder arrives ~1-3 s after it starts: speak only after "ready".
    await p.waitFor('ready', (ev) => ev.some((e) => e.event === 'ready'), 30_000);
    const ready = p.events.find((e) => e.event === 'ready')!;
    expect(ready).toMatchObject({ source: 'microphone', recorder: 'sox', device: 'default' });
    const play = (file: string): Promise<unknown> => run('paplay', ['--device=vmic', file], { env: micEnv });

    await play(utterances[0]!.file);
    await new Promise((r) => setTimeout(r, 1500));
    await play(utterances[1]!.file);
    await p.waitFor('two finals', () => p.finals().length >= 2, 20_000);

    // A third utterance, interrupted: Ctrl-C 1.4 s into it (its speech starts ~0.4 s in and
    // lasts ~2.3 s), so the recorder has captured the start of it but not its end.
    const third = play(utterances[0]!.file);
    await new Promise((r) => setTimeout(r, 1400));
    p.child.kill('SIGINT');
    const code = await p.exited;
    await third;
    expect(code, p.stderr.join('\n')).toBe(0);

    const finals = p.finals();
    expect(finals.slice(0, 2).map((f) => f.reason)).toEqual(['silence', 'silence']);
    expectPartialsBeforeFinals(p.events, finals.slice(0, 2));
    finals.slice(0, 2).forEach((f, i) => expect(cer(reference[i]!, f.text!), `${f.text} vs ${reference[i]}`).toBeLessThanOrEqual(0.1));
    // The utterance in progress at Ctrl-C was finalized, then the session ended cleanly.
    expect(finals).toHaveLength(3);
    expect(finals[2]!.reason).toBe('stopped');
    expect(p.events[p.events.length - 1]!.event).toBe('end');
    // The recorder process is gone.
    expect(() => process.kill(ready.pid!, 0)).toThrow();
  }, 90_000);
});
