/**
 * Synthesis: run the TTS engines as external processes, post-process with sox (16 kHz mono 16-bit,
 * speed perturbation, telephone band) only where needed, add noise in-process, and publish each
 * file atomically (temporary name in the same folder, renamed when complete).
 *
 * A pool of N workers runs jobs concurrently; each worker keeps its own long-running festival
 * processes (one per festival voice), because starting festival costs more than synthesizing a
 * sentence with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { makeRng } from '../../src/util/rng.js';
import type { PlannedItem, PlannedOutput } from './plan.js';
import type { Rendering } from './voices.js';
import { checkAndAugment } from './wav.js';

/** Process groups of running children, so that a hard stop can kill them. */
const running = new Set<ChildProcess>();

/** Kill every engine process still running (used on a second Ctrl-C). */
export function killAllChildren(): void {
  for (const c of running) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function tail(s: string, n = 400): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > n ? `...${t.slice(-n)}` : t;
}

/**
 * Run a command to completion. Children get their own process group (detached), so a Ctrl-C in
 * the terminal reaches only the builder, which then lets running utterances finish.
 */
export function runCommand(cmd: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    } catch (err) {
      reject(err);
      return;
    }
    running.add(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 8192) stderr += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (timedOut) reject(new Error(`${cmd} timed out after ${timeoutMs / 1000} s`));
      else if (code !== 0) reject(new Error(`${cmd} failed (${signal ?? `exit ${code}`}): ${tail(stderr)}`));
      else resolve();
    });
  });
}

/** Escape a string for a Scheme string literal. */
function schemeString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A long-running `festival --pipe` with one voice loaded. Commands are wrapped in
 * `unwind-protect`, so a failing sentence reports KOE-ERR and the process carries on.
 */
export class FestivalSession {
  private proc: ChildProcess;
  private buffer = '';
  private stderr = '';
  private waiter: { token: string; resolve: (ok: boolean) => void; reject: (e: Error) => void } | null = null;
  private dead: Error | null = null;
  private seq = 0;

  private constructor(readonly voice: string) {
    this.proc = spawn('festival', ['--pipe'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    running.add(this.proc);
    this.proc.stdout?.on('data', (d: Buffer) => this.onData(d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.proc.stdin?.on('error', () => {
      // reported through 'close'
    });
    const fail = (e: Error): void => {
      running.delete(this.proc);
      this.dead ??= e;
      const w = this.waiter;
      this.waiter = null;
      w?.reject(this.dead);
    };
    this.proc.on('error', (err) => fail(new Error(`festival: ${err.message}`)));
    this.proc.on('close', (code, signal) => fail(new Error(`festival exited (${signal ?? `code ${code}`}): ${tail(this.stderr)}`)));
  }

  static async start(voice: string, timeoutMs: number): Promise<FestivalSession> {
    const s = new FestivalSession(voice);
    const ok = await s.request(`(voice_${voice})`, timeoutMs);
    if (!ok) {
      s.close();
      throw new Error(`festival could not load voice ${voice}: ${tail(s.stderr)}`);
    }
    return s;
  }

  get alive(): boolean {
    return this.dead === null;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      const w = this.waiter;
      if (!w) continue;
      if (line === `KOE-OK ${w.token}` || line === `KOE-ERR ${w.token}`) {
        this.waiter = null;
        w.resolve(line.startsWith('KOE-OK'));
      }
    }
  }

  /** Evaluate `body` (Scheme forms); true when it completed without a Scheme error. */
  private request(body: string, timeoutMs: number): Promise<boolean> {
    if (this.dead) return Promise.reject(this.dead);
    const token = String(++this.seq);
    this.stderr = '';
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.kill();
        reject(new Error(`festival timed out after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiter = {
        token,
        resolve: (ok) => {
          clearTimeout(timer);
          resolve(ok);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.proc.stdin?.write(
        `(unwind-protect (begin ${body} (format t "KOE-OK ${token}\\n") (fflush nil)) (begin (format t "KOE-ERR ${token}\\n") (fflush nil)))\n`,
      );
    });
  }

  /** Synthesize `text` into a 16 kHz RIFF file at `out`. */
  async synth(text: string, out: string, stretch: number, timeoutMs: number): Promise<void> {
    const ok = await this.request(
      `(Parameter.set 'Duration_Stretch ${stretch}) (set! koe_utt (Utterance Text ${schemeString(text)})) ` +
        `(utt.synth koe_utt) (utt.wave.resample koe_utt 16000) (utt.save.wave koe_utt ${schemeString(out)} 'riff)`,
      timeoutMs,
    );
    if (!ok) throw new Error(`festival (${this.voice}) failed: ${tail(this.stderr) || 'Scheme error'}`);
  }

  private kill(): void {
    try {
      if (this.proc.pid) process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  close(): void {
    if (this.dead) return;
    this.dead = new Error('festival session closed');
    this.proc.stdin?.end();
    const p = this.proc;
    setTimeout(() => {
      if (p.exitCode === null && p.signalCode === null) {
        try {
          if (p.pid) process.kill(-p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, 3000).unref();
  }
}

/** sox effect for the telephone band. */
const TELEPHONE = ['sinc', '300-3400'];

/**
 * Convert `input` to 16 kHz mono 16-bit with `effects`. -D: no dither, so that files are
 * reproducible; sox adds the rate conversion that the effects or the input need.
 */
function sox(input: string, output: string, effects: string[], timeoutMs: number): Promise<void> {
  return runCommand('sox', ['-D', '-V1', input, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', output, ...effects], timeoutMs);
}

export interface SynthOptions {
  /** Corpus folder; planned paths are relative to it. */
  outDir: string;
  /** Per-engine-call timeout in milliseconds. */
  timeoutMs: number;
}

export interface OutputResult {
  output: PlannedOutput;
  duration: number;
}

/** Temporary name beside `final`: hidden, unique per process, ends in .wav for the engines. */
export function tempName(final: string, tag: string): string {
  return path.join(path.dirname(final), `.${path.basename(final, '.wav')}.${process.pid}.${tag}.tmp.wav`);
}

/** True for a temporary file of the builder (left behind by an interrupted run). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp.wav');
}

/**
 * One worker of the pool. Synthesizes jobs one at a time; keeps festival sessions between jobs.
 */
export class SynthWorker {
  private festival = new Map<string, FestivalSession>();
  private dirsMade = new Set<string>();

  constructor(private readonly opts: SynthOptions) {}

  /** Produce the engine's output for `r` into `file` (16 kHz for all but plain espeak-ng). */
  private async render(r: Rendering, text: string, file: string): Promise<void> {
    const t = this.opts.timeoutMs;
    const v = r.voice;
    switch (v.engine) {
      case 'espeak-ng': {
        const name = r.variant ? `${v.name}+${r.variant}` : v.name;
        return runCommand('espeak-ng', ['-v', name, '-s', String(r.params['s']), '-p', String(r.params['p']), '-w', file, text], t);
      }
      case 'mbrola':
        return runCommand('espeak-ng', ['-v', `mb-${v.name}`, '-s', String(r.params['s']), '-p', String(r.params['p']), '-w', file, text], t);
      case 'flite':
        return runCommand('flite', ['-voice', v.name, '--setf', `duration_stretch=${r.params['stretch']}`, '-t', text, '-o', file], t);
      case 'pico': {
        const ssml = `<speed level="${r.params['speed']}"><pitch level="${r.params['pitch']}">${text}</pitch></speed>`;
        return runCommand('pico2wave', ['-l', v.name, '-w', file, ssml], t);
      }
      case 'festival': {
        let s = this.festival.get(v.name);
        if (!s || !s.alive) {
          s = await FestivalSession.start(v.name, Math.max(t, 30_000));
          this.festival.set(v.name, s);
        }
        return s.synth(text, file, r.params['stretch'] ?? 1, t);
      }
    }
  }

  /**
   * Make every missing output of `item`. Returns the outputs made (with durations). Throws on
   * engine failure; temporary files are removed either way.
   */
  async run(item: PlannedItem): Promise<OutputResult[]> {
    const missing = item.outputs.filter((o) => !existsSync(path.join(this.opts.outDir, o.relPath)));
    if (missing.length === 0) return [];
    const first = path.join(this.opts.outDir, (missing[0] as PlannedOutput).relPath);
    const dir = path.dirname(first);
    if (!this.dirsMade.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.dirsMade.add(dir);
    }
    const raw = tempName(first, 'raw');
    const temps = [raw];
    const results: OutputResult[] = [];
    try {
      await this.render(item.rendering, item.sentence.speak, raw);
      if (!existsSync(raw)) throw new Error(`${item.rendering.voice.engine} wrote no audio`);
      const native16k = item.rendering.voice.engine !== 'espeak-ng';
      for (const out of missing) {
        const final = path.join(this.opts.outDir, out.relPath);
        const tmp = tempName(final, 'out');
        temps.push(tmp);
        // The telephone band applies after the noise (the channel filters both), so with noise it
        // takes a second sox pass.
        const effects: string[] = [];
        if (out.speed !== 1) effects.push('speed', String(out.speed));
        if (out.telephone && !out.noise) effects.push(...TELEPHONE);
        if (effects.length > 0 || !native16k) {
          await sox(raw, tmp, effects, this.opts.timeoutMs);
        } else {
          await copyFile(raw, tmp);
        }
        const noise = out.noise ? { type: out.noise.type, snr: out.noise.snr, rng: makeRng(out.noise.seed) } : null;
        let { header } = await checkAndAugment(tmp, noise);
        if (out.telephone && out.noise) {
          const tmp2 = tempName(final, 'tel');
          temps.push(tmp2);
          await sox(tmp, tmp2, TELEPHONE, this.opts.timeoutMs);
          await rename(tmp2, tmp);
          ({ header } = await checkAndAugment(tmp, null));
        }
        const words = item.sentence.text.split(' ').length;
        if (header.duration < 0.3 || header.duration > 3 * words + 5) {
          throw new Error(`implausible duration ${header.duration.toFixed(2)} s for ${words} words`);
        }
        await rename(tmp, final);
        results.push({ output: out, duration: header.duration });
      }
      return results;
    } finally {
      await Promise.all(temps.map((f) => rm(f, { force: true })));
    }
  }

  close(): void {
    for (const s of this.festival.values()) s.close();
    this.festival.clear();
  }
}

export interface PoolEvents {
  onDone(item: PlannedItem, results: OutputResult[]): void;
  onError(item: PlannedItem, err: Error): void;
  /** Checked before each job; true stops dispatching (running jobs finish). */
  shouldStop(): boolean;
}

/** Run `items` on `workers` concurrent workers. Resolves when all are done or dispatch stopped. */
export async function runPool(items: readonly PlannedItem[], workers: number, opts: SynthOptions, events: PoolEvents): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    const w = new SynthWorker(opts);
    try {
      while (next < items.length && !events.shouldStop()) {
        const item = items[next++] as PlannedItem;
        try {
          events.onDone(item, await w.run(item));
        } catch (err) {
          events.onError(item, err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      w.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, loop));
}
