/**
 * `koe listen` without a model or an audio system: the dictation loop with a fake
 * recognizer (partial cadence, finals, skipping partials to keep up with real time),
 * the sample buffer, PCM decoding, output formats, and the microphone source driven by
 * fake recorder programs (errors: missing recorder, no device, permission, recorder death).
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hypothesis } from '../src/decode/hypothesis.js';
import type { FeatureMatrix } from '../src/features/index.js';
import { SampleBuffer } from '../src/listen/buffer.js';
import { Dictation, type DictationEvent, type FinalEvent, type PartialEvent, type Recognizer } from '../src/listen/dictation.js';
import { EventPrinter } from '../src/listen/printer.js';
import { checkRecorder, FileSource, ListenError, MicrophoneSource, S16leDecoder } from '../src/listen/sources.js';
import { makeRng } from '../src/util/rng.js';
import { detectSegments } from '../src/vad/index.js';

const SR = 16000;
const sec = (s: number): number => Math.round(s * SR);

function hyp(text: string): Hypothesis {
  return { text, ids: [], logProb: 0, score: 0, confidence: 1, charLogProbs: [], alignments: [], finished: true };
}

/** A recognizer whose "text" is the number of samples it was given; each decoding may cost simulated time. */
function fakeRecognizer(opts: { cost?: number; clock?: { now: number }; text?: (samples: number) => string } = {}): Recognizer & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    features: (s: Float32Array): FeatureMatrix => ({ frames: s.length, dim: 1, data: s }),
    decode: (f: FeatureMatrix): Hypothesis[] => {
      calls.push(f.frames);
      if (opts.clock && opts.cost) opts.clock.now += opts.cost;
      return [hyp(opts.text ? opts.text(f.frames) : `n${f.frames}`)];
    },
  };
}

/** Seeded noise at -60 dBFS with 220 Hz tones at -20 dBFS. */
function bursts(duration: number, spans: [number, number][], seed = 1): Float32Array {
  const rng = makeRng(seed);
  const out = new Float32Array(sec(duration));
  for (let i = 0; i < out.length; i++) {
    const t = i / SR;
    let x = (2 * rng() - 1) * Math.sqrt(3) * 1e-3;
    if (spans.some(([a, b]) => t >= a && t < b)) x += Math.SQRT2 * 0.1 * Math.sin(2 * Math.PI * 220 * t);
    out[i] = x;
  }
  return out;
}

function run(samples: Float32Array, recognizer: Recognizer, chunk = 1600, options = {}): { events: DictationEvent[]; dictation: Dictation } {
  const events: DictationEvent[] = [];
  const dictation = new Dictation(recognizer, (e) => events.push(e), { realtime: false, ...options });
  for (let i = 0; i < samples.length; i += chunk) dictation.write(samples.subarray(i, i + chunk));
  dictation.end();
  return { events, dictation };
}

describe('Dictation', () => {
  const signal = bursts(6, [
    [1, 2],
    [3, 4.6],
  ]);

  it('reports partials every 0.5 s of an utterance and a final per utterance, at the detector boundaries', () => {
    const { events, dictation } = run(signal, fakeRecognizer());
    const finals = events.filter((e): e is FinalEvent => e.event === 'final');
    const segments = detectSegments(signal);
    expect(finals.map((f) => [sec(f.start), sec(f.end), f.reason])).toEqual(segments.map((s) => [s.start, s.end, s.reason]));
    expect(finals.map((f) => f.text)).toEqual(segments.map((s) => `n${s.end - s.start}`));
    expect(finals.map((f) => f.utterance)).toEqual([1, 2]);
    expect(finals[0]!.samples.length).toBe(segments[0]!.end - segments[0]!.start);

    // Utterance 1 starts at 0.8 s (200 ms pre-roll) and ends when the 600 ms hang-over
    // has passed at 2.6 s: partials at 1.3, 1.8 and 2.3 s of audio.
    const p1 = events.filter((e): e is PartialEvent => e.event === 'partial' && e.utterance === 1);
    expect(p1.map((p) => p.end)).toEqual([1.3, 1.8, 2.3]);
    expect(p1.every((p) => p.start === 0.8 && p.text === `n${sec(p.end - 0.8)}`)).toBe(true);
    // Every partial comes before its final.
    const order = events.map((e) => `${e.event[0]}${e.utterance}`).join(' ');
    expect(order).toMatch(/^(p1 )+f1 (p2 )+f2$/);
    expect(dictation.stats).toMatchObject({ utterances: 2, partials: events.length - 2, skippedPartials: 0, duration: 6 });
  });

  it('gives the same events however the audio is chunked', () => {
    const a = run(signal, fakeRecognizer(), 1600).events.map((e) => ({ ...e, samples: undefined }));
    const b = run(signal, fakeRecognizer(), 800).events.map((e) => ({ ...e, samples: undefined }));
    expect(b).toEqual(a);
  });

  it('reports a partial only when its text changes, and none with partials off', () => {
    const same = run(signal, fakeRecognizer({ text: () => 'same' })).events;
    expect(same.map((e) => `${e.event} ${e.utterance}`)).toEqual(['partial 1', 'final 1', 'partial 2', 'final 2']);
    const none = run(signal, fakeRecognizer(), 1600, { partialIntervalMs: 0 }).events;
    expect(none.map((e) => e.event)).toEqual(['final', 'final']);
  });

  it('finalizes the utterance in progress at the end of the audio', () => {
    const { events } = run(signal.subarray(0, sec(4)), fakeRecognizer());
    const last = events[events.length - 1] as FinalEvent;
    expect(last).toMatchObject({ event: 'final', utterance: 2, reason: 'flush', start: 2.8, end: 4 });
  });

  it('skips partials rather than fall behind real time when decoding is slow', () => {
    // Audio arrives in 100 ms chunks by a simulated clock; each decoding costs 700 ms of it.
    // After a stall the recorder hands over everything that has piled up at once.
    const long = bursts(12, [[1, 10]]);
    const clock = { now: 0 };
    const recognizer = fakeRecognizer({ cost: 700, clock });
    const events: DictationEvent[] = [];
    const dictation = new Dictation(recognizer, (e) => events.push(e), { realtime: true, now: () => clock.now });
    const chunk = 1600;
    let fed = 0;
    let maxLag = 0;
    while (fed < long.length) {
      const arrived = Math.min(long.length, Math.floor((clock.now / 1000) * SR / chunk) * chunk);
      if (arrived > fed) {
        dictation.write(long.subarray(fed, arrived));
        fed = arrived;
        maxLag = Math.max(maxLag, clock.now / 1000 - fed / SR);
      } else {
        clock.now = ((Math.floor(fed / chunk) + 1) * chunk * 1000) / SR;
      }
    }
    dictation.end();
    const partials = events.filter((e) => e.event === 'partial');
    const finals = events.filter((e) => e.event === 'final');
    expect(finals).toHaveLength(1);
    expect(partials.length).toBeGreaterThan(2);
    expect(dictation.stats.skippedPartials).toBeGreaterThan(0);
    // Decoding every 0.5 s at 0.7 s per decoding would fall ever further behind (about 4 s
    // by the end); skipping keeps the backlog within about one decoding.
    expect(maxLag).toBeLessThan(1.0);
    // The slow run decodes fewer partials than the same audio without real-time limits.
    const unhurried = run(long, fakeRecognizer()).events.filter((e) => e.event === 'partial');
    expect(partials.length).toBeLessThan(unhurried.length);
  });
});

describe('SampleBuffer', () => {
  it('reads ranges across chunks and forgets the past', () => {
    const b = new SampleBuffer();
    b.append(Float32Array.from([0, 1, 2]));
    b.append(Float32Array.from([3, 4]));
    b.append(Float32Array.from([5, 6, 7, 8]));
    expect(Array.from(b.slice(2, 7))).toEqual([2, 3, 4, 5, 6]);
    b.discardBefore(4);
    expect(b.start).toBe(3);
    expect(Array.from(b.slice(3, 9))).toEqual([3, 4, 5, 6, 7, 8]);
    expect(() => b.slice(2, 4)).toThrow(RangeError);
    expect(() => b.slice(5, 10)).toThrow(RangeError);
  });
});

describe('S16leDecoder', () => {
  it('decodes little-endian 16-bit PCM split at odd byte boundaries', () => {
    const values = [0, 1, -1, 32767, -32768, 1234, -4321];
    const bytes = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => bytes.writeInt16LE(v, 2 * i));
    const d = new S16leDecoder();
    const out = [...d.decode(bytes.subarray(0, 3)), ...d.decode(bytes.subarray(3, 8)), ...d.decode(bytes.subarray(8))];
    expect(out).toEqual(values.map((v) => v / 32768));
  });
});

describe('EventPrinter', () => {
  const partial: PartialEvent = { event: 'partial', utterance: 1, text: 'hello wor', start: 0.5, end: 1.0004 };
  const final: FinalEvent = { event: 'final', utterance: 1, text: 'hello world', start: 0.5, end: 1.5, confidence: 0.91234, reason: 'flush', samples: new Float32Array(0) };
  const capture = (mode: 'json' | 'tty' | 'plain', partials: boolean, columns = 80): string[] => {
    const out: string[] = [];
    const p = new EventPrinter({ mode, partials, write: (s) => out.push(s), columns: () => columns });
    p.ready({ source: 'microphone', recorder: 'sox', model: 'm', backend: 'wasm' });
    p.partial(partial);
    p.final(final, { wav: 'x.wav' });
    p.end({ duration: 2, utterances: 1, partials: 1, skippedPartials: 0 });
    return out;
  };

  it('json: one object per event', () => {
    const lines = capture('json', true).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.event)).toEqual(['ready', 'partial', 'final', 'end']);
    expect(lines[0]).toMatchObject({ source: 'microphone', recorder: 'sox', device: 'default', sampleRate: 16000 });
    expect(lines[1]).toEqual({ event: 'partial', utterance: 1, text: 'hello wor', start: 0.5, end: 1 });
    expect(lines[2]).toEqual({ event: 'final', utterance: 1, text: 'hello world', start: 0.5, end: 1.5, confidence: 0.9123, reason: 'stopped', wav: 'x.wav' });
  });

  it('terminal: the partial rewrites the line, the final ends it', () => {
    expect(capture('tty', true).join('')).toBe('\r\x1b[2K\x1b[2mhello wor\x1b[22m\r\x1b[2Khello world\n');
    // A partial wider than the terminal shows its tail.
    const out: string[] = [];
    const p = new EventPrinter({ mode: 'tty', partials: true, write: (t) => out.push(t), columns: () => 13 });
    p.partial({ ...partial, text: 'the quick brown fox jumps' });
    expect(out[0]).toBe('\r\x1b[2K\x1b[2m…n fox jumps\x1b[22m');
  });

  it('pipe: finals only, or prefixed partials on their own lines', () => {
    expect(capture('plain', false).join('')).toBe('hello world\n');
    expect(capture('plain', true).join('')).toBe('[partial] hello wor\nhello world\n');
  });
});

describe('FileSource', () => {
  it('delivers a file in chunks, as fast as possible or in real time', async () => {
    const samples = new Float32Array(sec(0.35)).map((_, i) => i);
    for (const realtime of [false, true]) {
      const src = new FileSource('x.wav', samples, { realtime, chunkMs: 100 });
      const chunks: Float32Array[] = [];
      const started = performance.now();
      await new Promise<void>((resolve, reject) => src.start({ data: (c) => chunks.push(c), end: (err) => (err ? reject(err) : resolve()) }));
      const elapsed = performance.now() - started;
      expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(samples.length);
      expect(chunks.flatMap((c) => Array.from(c))).toEqual(Array.from(samples));
      if (realtime) expect(elapsed).toBeGreaterThanOrEqual(300);
    }
  });

  it('stops on request', async () => {
    const src = new FileSource('x.wav', new Float32Array(sec(5)), { realtime: true });
    let received = 0;
    const done = new Promise<void>((resolve) => src.start({ data: (c) => (received += c.length), end: () => resolve() }));
    setTimeout(() => src.stop(), 250);
    await done;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(sec(1));
  });
});

describe('MicrophoneSource with fake recorders', () => {
  let dir: string;
  let savedPath: string | undefined;

  /** Install a fake `sox` (a node script) that runs `body`; node-record-lpcm16 runs it as the recorder. */
  async function fakeSox(body: string): Promise<void> {
    const file = path.join(dir, 'sox');
    await writeFile(file, `#!${process.execPath}\n${body}\n`);
    await chmod(file, 0o755);
  }

  function record(options: Partial<ConstructorParameters<typeof MicrophoneSource>[0]> = {}): Promise<{ samples: number[]; error?: ListenError; source: MicrophoneSource; warnings: string[] }> {
    const source = new MicrophoneSource({ recorder: 'sox', exitGraceMs: 0, ...options });
    const samples: number[] = [];
    const warnings: string[] = [];
    return new Promise((resolve) =>
      source.start({
        data: (c) => samples.push(...c),
        end: (error) => resolve({ samples, error, source, warnings }),
        warning: (w) => warnings.push(w),
      }),
    );
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'koe-fake-rec-'));
    savedPath = process.env.PATH;
    process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ''}`;
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('names the package to install when the recorder is missing', () => {
    expect(() => checkRecorder('arecord', path.join(dir, 'nothing-here'))).toThrow(/arecord.*not installed.*alsa-utils/);
    expect(() => checkRecorder('rec', path.join(dir, 'nothing-here'))).toThrow(/install the sox package/);
    try {
      checkRecorder('sox', path.join(dir, 'nothing-here'));
    } catch (err) {
      expect(err).toBeInstanceOf(ListenError);
      expect((err as ListenError).code).toBe('no-recorder');
    }
  });

  it('streams raw 16-bit audio and stops the recorder cleanly', async () => {
    // 100 samples of a ramp, then silence in 3-byte pieces, until killed.
    await fakeSox(`
const b = Buffer.alloc(200); for (let i = 0; i < 100; i++) b.writeInt16LE(i * 100, 2 * i);
process.stdout.write(b);
setInterval(() => process.stdout.write(Buffer.alloc(3)), 5);`);
    const source = new MicrophoneSource({ recorder: 'sox' });
    const samples: number[] = [];
    const ended = new Promise<ListenError | undefined>((resolve) => source.start({ data: (c) => samples.push(...c), end: resolve }));
    // Until the ramp and some silence have come (a node process starts slowly on a busy machine).
    for (const deadline = Date.now() + 30_000; samples.length <= 100 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    const pid = source.pid!;
    source.stop();
    source.stop();
    expect(await ended).toBeUndefined();
    expect(samples.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => (i * 100) / 32768));
    expect(samples.length).toBeGreaterThan(100);
    expect(() => process.kill(pid, 0)).toThrow(); // the recorder is gone
  });

  it('reports a recorder that dies mid-session, with its last words', async () => {
    await fakeSox(`process.stdout.write(Buffer.alloc(32000), () => { process.stderr.write('sox FAIL: device went away\\n'); process.exit(3); });`);
    const { samples, error } = await record();
    expect(samples.length).toBe(16000);
    expect(error?.code).toBe('recorder-died');
    expect(error?.message).toMatch(/stopped unexpectedly after 1\.0 s of audio \(exit code 3\): sox FAIL: device went away/);
  });

  it('reports a capture device that cannot be opened', async () => {
    await fakeSox(`process.stderr.write("sox FAIL formats: can't open input \`hw:9': No such device\\n"); process.exit(2);`);
    const { error } = await record({ device: 'hw:9' });
    expect(error?.code).toBe('no-device');
    expect(error?.message).toMatch(/could not record from the capture device "hw:9" \(exit code 2\).*No such device.*--device/);
  });

  it('reports missing permission to record', async () => {
    await fakeSox(`process.stderr.write("sox FAIL formats: can't open input \`default': Permission denied\\n"); process.exit(2);`);
    const { error } = await record();
    expect(error?.code).toBe('permission');
    expect(error?.message).toMatch(/permission denied opening the default capture device.*audio" group/);
  });

  it('counts a recorder exit as a clean stop when Ctrl-C reached it first', async () => {
    // In a terminal, Ctrl-C goes to the whole process group: the recorder may exit before koe's handler runs.
    await fakeSox(`process.stdout.write(Buffer.alloc(3200), () => process.exit(0));`);
    const source = new MicrophoneSource({ recorder: 'sox', exitGraceMs: 300 });
    const ended = new Promise<ListenError | undefined>((resolve) =>
      source.start({
        data: () => setTimeout(() => source.stop(), 50),
        end: resolve,
      }),
    );
    expect(await ended).toBeUndefined();
  });

  it('passes the device to sox as AUDIODEV and warns when no audio comes', async () => {
    await fakeSox(`process.stderr.write('AUDIODEV=' + process.env.AUDIODEV + '\\n'); setTimeout(() => process.exit(5), 300);`);
    const { error, warnings } = await record({ device: 'hw:7,0', noAudioWarningMs: 100 });
    expect(error?.message).toContain('AUDIODEV=hw:7,0');
    expect(warnings.join()).toMatch(/no audio from sox after 0\.1 s/);
  });
});
