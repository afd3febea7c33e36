/**
 * Where `koe listen` gets its audio: a microphone through node-record-lpcm16 (which runs
 * sox, rec or arecord), or a WAV file streamed in real time (or as fast as possible).
 * Both deliver 16 kHz mono float32 chunks through the same callbacks.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import recorderModule from 'node-record-lpcm16';
import { loadAudio } from '../audio/index.js';
import { LISTEN_SAMPLE_RATE } from './dictation.js';

export interface SourceHandlers {
  /** 16 kHz mono samples, in order. */
  data(chunk: Float32Array): void;
  /** Called exactly once: without an error when stopped or at the end of a file. */
  end(error?: ListenError): void;
  /** Something worth telling the user that does not stop the source. */
  warning?(message: string): void;
}

export interface AudioSource {
  readonly kind: 'microphone' | 'file';
  /** For messages: "sox, default device", "file speech.wav". */
  readonly description: string;
  start(handlers: SourceHandlers): void;
  /** Stop delivering audio; `end` follows once the source has closed. Safe to call more than once. */
  stop(): void;
}

export type ListenErrorCode = 'no-recorder' | 'no-device' | 'permission' | 'recorder-died';

export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: ListenErrorCode,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

export const RECORDERS = ['sox', 'rec', 'arecord'] as const;
export type RecorderName = (typeof RECORDERS)[number];

/** The Debian/Ubuntu package that provides each recorder program. */
export const RECORDER_PACKAGES: Readonly<Record<RecorderName, string>> = { sox: 'sox', rec: 'sox', arecord: 'alsa-utils' };

/** Full path of an executable found on PATH, or undefined. */
export function findExecutable(name: string, searchPath: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function missingRecorderError(recorder: RecorderName): ListenError {
  const pkg = RECORDER_PACKAGES[recorder];
  const extra = pkg === 'sox' ? ' (and libsox-fmt-pulse to record through PulseAudio/PipeWire)' : '';
  const others = RECORDERS.filter((r) => r !== recorder && findExecutable(r));
  return new ListenError(
    `the recorder program "${recorder}" is not installed (not found on PATH); install the ${pkg} package` +
      `, e.g. \`sudo apt-get install ${pkg}\` on Debian/Ubuntu${extra}` +
      (others.length > 0 ? `, or choose --recorder ${others.join(' or --recorder ')}` : ''),
    'no-recorder',
  );
}

/** Throws a ListenError naming the package to install when the recorder program is missing. */
export function checkRecorder(recorder: RecorderName, searchPath?: string): string {
  const found = findExecutable(recorder, searchPath);
  if (!found) throw missingRecorderError(recorder);
  return found;
}

/** Little-endian signed 16-bit PCM to float32, carrying an odd trailing byte over to the next chunk. */
export class S16leDecoder {
  private carry: number | undefined;

  decode(buf: Uint8Array): Float32Array {
    let bytes = buf;
    if (this.carry !== undefined) {
      bytes = new Uint8Array(buf.length + 1);
      bytes[0] = this.carry;
      bytes.set(buf, 1);
      this.carry = undefined;
    }
    const n = bytes.length >> 1;
    const out = new Float32Array(n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true) / 32768;
    if (bytes.length & 1) this.carry = bytes[bytes.length - 1];
    return out;
  }
}

export interface MicrophoneOptions {
  recorder: RecorderName;
  /** Capture device; default: the system default. sox/rec: AUDIODEV (e.g. "hw:1,0", a PulseAudio source); arecord: -D. */
  device?: string;
  /** After stop(), SIGKILL the recorder if it has not exited within this many ms. Default 2000. */
  killAfterMs?: number;
  /** Warn when no audio has arrived this many ms after the start. Default 5000. */
  noAudioWarningMs?: number;
  /**
   * How long an unexpected recorder exit waits before it is reported, in ms, so that a
   * Ctrl-C that reached the recorder first (same terminal process group) still counts as a
   * clean stop. Default 300.
   */
  exitGraceMs?: number;
}

type Recording = ReturnType<typeof recorderModule.record>;

/** Microphone capture through node-record-lpcm16: raw 16-bit 16 kHz mono from the recorder's stdout. */
export class MicrophoneSource implements AudioSource {
  readonly kind = 'microphone' as const;
  private recording: Recording | undefined;
  private handlers: SourceHandlers | undefined;
  private stopping = false;
  private finished = false;
  private exited = false;
  private receivedBytes = 0;
  private stderrTail = '';
  private spawnError: NodeJS.ErrnoException | undefined;
  private readonly decoder = new S16leDecoder();
  private timers: NodeJS.Timeout[] = [];

  constructor(readonly options: MicrophoneOptions) {}

  get description(): string {
    return `${this.options.recorder}, ${this.options.device ? `device ${this.options.device}` : 'default device'}`;
  }

  /** The recorder's process id (once started). */
  get pid(): number | undefined {
    return this.recording?.process.pid;
  }

  start(handlers: SourceHandlers): void {
    if (this.handlers) throw new Error('MicrophoneSource: already started');
    this.handlers = handlers;
    const { recorder, device } = this.options;
    checkRecorder(recorder);
    // node-record-lpcm16 passes the device to sox as AUDIODEV and to arecord as -D, but not to rec,
    // which reads AUDIODEV from the environment it inherits.
    const savedAudiodev = process.env.AUDIODEV;
    if (recorder === 'rec' && device) process.env.AUDIODEV = device;
    try {
      this.recording = recorderModule.record({ sampleRate: LISTEN_SAMPLE_RATE, channels: 1, audioType: 'raw', recorder, device: device ?? null });
    } finally {
      if (recorder === 'rec' && device) {
        if (savedAudiodev === undefined) delete process.env.AUDIODEV;
        else process.env.AUDIODEV = savedAudiodev;
      }
    }
    const cp = this.recording.process;
    const stream = this.recording.stream();
    // node-record-lpcm16 reports every non-zero exit (including our own stop) as a string 'error' on
    // the stream; the exit itself is examined below.
    stream.on('error', () => {});
    cp.on('error', (err: NodeJS.ErrnoException) => {
      this.spawnError ??= err;
    });
    cp.stderr.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4000);
    });
    stream.on('data', (b: Buffer) => {
      if (this.finished) return;
      this.receivedBytes += b.length;
      const samples = this.decoder.decode(b);
      if (samples.length > 0 && !this.stopping) handlers.data(samples);
    });
    cp.on('close', (code: number | null, signal: NodeJS.Signals | null) => this.onClose(code, signal));
    const warnAfter = this.options.noAudioWarningMs ?? 5000;
    const t = setTimeout(() => {
      if (this.receivedBytes === 0 && !this.finished && !this.stopping) {
        handlers.warning?.(`no audio from ${recorder} after ${warnAfter / 1000} s; check the capture device${device ? ` (${device})` : ''} and its volume`);
      }
    }, warnAfter);
    t.unref();
    this.timers.push(t);
  }

  stop(): void {
    if (this.stopping || this.finished) return;
    this.stopping = true;
    const rec = this.recording;
    if (!rec || this.exited) return;
    try {
      rec.stop();
    } catch {
      // already gone
    }
    const t = setTimeout(() => {
      if (!this.exited) rec.process.kill('SIGKILL');
    }, this.options.killAfterMs ?? 2000);
    t.unref();
    this.timers.push(t);
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    if (this.stopping) return this.finish();
    const report = (): void => {
      if (this.stopping) return this.finish();
      this.finish(this.exitError(code, signal));
    };
    const grace = this.options.exitGraceMs ?? 300;
    if (grace > 0 && this.spawnError === undefined) {
      const t = setTimeout(report, grace);
      this.timers.push(t);
    } else {
      report();
    }
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): ListenError {
    const { recorder, device } = this.options;
    if (this.spawnError) {
      if (this.spawnError.code === 'ENOENT') return missingRecorderError(recorder);
      return new ListenError(`cannot start the recorder ${recorder}: ${this.spawnError.message}`, 'no-device');
    }
    const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
    const detail = lastLines(this.stderrTail, 2);
    const deviceName = device ? `the capture device "${device}"` : 'the default capture device';
    if (/permission denied|not permitted|access denied/i.test(this.stderrTail)) {
      return new ListenError(
        `permission denied opening ${deviceName} (${recorder}, ${how})${detail ? `: ${detail}` : ''}; ` +
          `on Linux add yourself to the "audio" group (sudo usermod -aG audio $USER, then log in again) or check the sound server's permissions`,
        'permission',
      );
    }
    if (this.receivedBytes === 0) {
      return new ListenError(
        `${recorder} could not record from ${deviceName} (${how})${detail ? `: ${detail}` : ''}; ` +
          `check that a microphone is connected and --device names it (list capture devices with \`arecord -l\` or \`pactl list short sources\`)`,
        'no-device',
      );
    }
    const seconds = this.receivedBytes / 2 / LISTEN_SAMPLE_RATE;
    return new ListenError(`the recorder (${recorder}) stopped unexpectedly after ${seconds.toFixed(1)} s of audio (${how})${detail ? `: ${detail}` : ''}`, 'recorder-died');
  }

  private finish(error?: ListenError): void {
    if (this.finished) return;
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.handlers?.end(error);
  }
}

function lastLines(text: string, n: number): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' / ');
}

export interface FileSourceOptions {
  /** Deliver audio at its real pace (default) or as fast as possible. */
  realtime: boolean;
  /** Chunk length in ms. Default 100. */
  chunkMs?: number;
}

/** A WAV file played through the dictation path, at real-time pace or as fast as possible. */
export class FileSource implements AudioSource {
  readonly kind = 'file' as const;
  private handlers: SourceHandlers | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private sent = 0;
  private finished = false;

  constructor(
    readonly file: string,
    /** 16 kHz mono samples. */
    readonly samples: Float32Array,
    readonly options: FileSourceOptions,
  ) {}

  /** Load any WAV koe reads (resampled to 16 kHz mono). */
  static async open(file: string, options: FileSourceOptions): Promise<FileSource> {
    return new FileSource(file, await loadAudio(file, LISTEN_SAMPLE_RATE), options);
  }

  get description(): string {
    return `file ${this.file}${this.options.realtime ? '' : ', fast'}`;
  }

  /** Seconds of audio in the file. */
  get duration(): number {
    return this.samples.length / LISTEN_SAMPLE_RATE;
  }

  start(handlers: SourceHandlers): void {
    if (this.handlers) throw new Error('FileSource: already started');
    this.handlers = handlers;
    const chunk = Math.max(1, Math.round(((this.options.chunkMs ?? 100) / 1000) * LISTEN_SAMPLE_RATE));
    const total = this.samples.length;
    if (!this.options.realtime) {
      const next = (): void => {
        if (this.finished) return;
        const to = Math.min(total, this.sent + chunk);
        if (to > this.sent) handlers.data(this.samples.subarray(this.sent, to));
        this.sent = to;
        if (this.sent >= total) return this.finish();
        this.timer = setImmediate(next);
      };
      this.timer = setImmediate(next);
      return;
    }
    // Real time: chunk k is delivered once its last sample "has been recorded", i.e. at
    // t0 + (k + 1) * chunk; after a stall, everything due arrives at once, as from a recorder.
    const t0 = performance.now();
    const tick = (): void => {
      if (this.finished) return;
      const elapsed = ((performance.now() - t0) / 1000) * LISTEN_SAMPLE_RATE;
      const due = Math.min(total, Math.floor(elapsed / chunk) * chunk);
      if (due > this.sent) {
        handlers.data(this.samples.subarray(this.sent, due));
        this.sent = due;
      }
      if (this.sent >= total) return this.finish();
      const nextAt = t0 + ((Math.floor(this.sent / chunk) + 1) * chunk * 1000) / LISTEN_SAMPLE_RATE;
      this.timer = setTimeout(tick, Math.max(0, nextAt - performance.now()));
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.finished || !this.handlers) return;
    this.finished = true;
    this.clear();
    const h = this.handlers;
    setImmediate(() => h.end());
  }

  private clear(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clear();
    this.handlers?.end();
  }
}
