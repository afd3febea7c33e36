/**
 * Voice-activity detection and endpointing on frame energy with an adaptive noise floor.
 *
 * The signal is cut into frames (10 ms by default) and each frame's energy is measured in
 * dB relative to full scale (a full-scale sine is -3 dBFS, digital silence is -100 dBFS).
 *
 * - Noise floor: follows the frame energy down quickly (time constant `floorFallMs`) and up
 *   slowly (at most `floorRiseDbPerSec`), so it settles at the quiet parts of the signal
 *   and tracks noise that grows or fades; it never goes below `floorMinDb` (so digital
 *   silence does not make every click look like speech). The floor keeps adapting while
 *   speech is detected, so a sudden lasting rise in noise is absorbed after a few seconds.
 * - Start: frames `startDb` above the floor; an utterance is confirmed once such frames
 *   add up to `minSpeechMs` within a run that never falls below the end threshold. It
 *   starts `paddingMs` before the run (pre-roll), never before the previous utterance's end.
 * - End (hang-over): the utterance ends when the energy stays below floor + `endDb` for
 *   `hangoverMs`; pauses shorter than that do not split it. It ends `paddingMs` after the
 *   last loud frame.
 * - Maximum length: an utterance reaching `maxUtteranceMs` is cut at its quietest point
 *   (lowest energy averaged over `cutWindowMs`) in its second half, and a new utterance
 *   continues from the cut without a gap.
 *
 * Positions are sample indexes counted from the first sample pushed. The detector is
 * streaming ({@link VoiceActivityDetector.push}, {@link VoiceActivityDetector.flush}); for a
 * whole signal at once use {@link detectSegments}. Deterministic: the same samples give the
 * same segments however they are split into chunks.
 */

export interface VadOptions {
  /** Samples per second of the input. Default 16000. */
  sampleRate: number;
  /** Analysis frame length in milliseconds. Default 10. */
  frameMs: number;
  /** dB above the noise floor at which a frame counts as speech onset. Default 12. */
  startDb: number;
  /** dB above the noise floor below which a frame counts as silence. Default 6. */
  endDb: number;
  /** Loud frames (above the start threshold) needed to confirm an utterance, in ms. Default 100. */
  minSpeechMs: number;
  /** Silence needed to end an utterance, in ms (the hang-over). Default 600. */
  hangoverMs: number;
  /** Longest utterance in ms; longer ones are cut at their quietest point. Default 15000. */
  maxUtteranceMs: number;
  /** Audio kept before the onset and after the last loud frame, in ms. Default 200. */
  paddingMs: number;
  /** Lowest noise floor in dBFS. Default -70. */
  floorMinDb: number;
  /** How fast the floor may rise, in dB per second. Default 3. */
  floorRiseDbPerSec: number;
  /** Time constant of the floor's descent towards quieter frames, in ms. Default 50. */
  floorFallMs: number;
  /** Initial noise floor in dBFS; default: the first frame's energy. */
  initialFloorDb?: number;
  /** Window (ms) over which energy is averaged when looking for the quietest cut point. Default 50. */
  cutWindowMs: number;
}

export const DEFAULT_VAD_OPTIONS: Readonly<VadOptions> = Object.freeze({
  sampleRate: 16000,
  frameMs: 10,
  startDb: 12,
  endDb: 6,
  minSpeechMs: 100,
  hangoverMs: 600,
  maxUtteranceMs: 15000,
  paddingMs: 200,
  floorMinDb: -70,
  floorRiseDbPerSec: 3,
  floorFallMs: 50,
  cutWindowMs: 50,
});

export type EndReason = 'silence' | 'max-length' | 'flush';

export type VadEvent =
  | { type: 'start'; /** First sample of the utterance (pre-roll included). */ start: number }
  | { type: 'end'; start: number; /** One past the last sample. */ end: number; reason: EndReason };

export interface VadSegment {
  start: number;
  end: number;
  reason: EndReason;
}

/** Energy of `len` samples from `offset`, in dBFS (mean square; silence gives -100). */
export function energyDb(samples: Float32Array, offset = 0, len = samples.length - offset): number {
  let sum = 0;
  for (let i = offset; i < offset + len; i++) {
    const x = samples[i] as number;
    sum += x * x;
  }
  return 10 * Math.log10(sum / Math.max(1, len) + 1e-10);
}

export function resolveVadOptions(options: Partial<VadOptions> = {}): VadOptions {
  const o: VadOptions = { ...DEFAULT_VAD_OPTIONS, ...stripUndefined(options) };
  const positive: (keyof VadOptions)[] = ['sampleRate', 'frameMs', 'maxUtteranceMs', 'floorFallMs'];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`VAD option ${k} must be a positive number (got ${v})`);
  }
  const nonNegative: (keyof VadOptions)[] = ['startDb', 'endDb', 'minSpeechMs', 'hangoverMs', 'paddingMs', 'floorRiseDbPerSec', 'cutWindowMs'];
  for (const k of nonNegative) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`VAD option ${k} must be a non-negative number (got ${v})`);
  }
  if (!Number.isFinite(o.floorMinDb)) throw new RangeError('VAD option floorMinDb must be a finite number');
  if (o.endDb > o.startDb) throw new RangeError(`VAD end threshold (${o.endDb} dB) must not exceed the start threshold (${o.startDb} dB)`);
  const frame = Math.round((o.sampleRate * o.frameMs) / 1000);
  if (frame < 1) throw new RangeError('VAD frame is shorter than one sample');
  if (o.maxUtteranceMs < 4 * o.frameMs) throw new RangeError(`VAD maximum utterance length must be at least 4 frames (${4 * o.frameMs} ms)`);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

type State = 'silence' | 'speech';

export class VoiceActivityDetector {
  readonly options: VadOptions;
  /** Samples per frame. */
  readonly frameSize: number;
  private readonly minSpeechFrames: number;
  private readonly hangoverFrames: number;
  private readonly maxFrames: number;
  private readonly paddingSamples: number;
  private readonly cutWindowFrames: number;
  private readonly fallAlpha: number;
  private readonly risePerFrame: number;

  private state: State = 'silence';
  private floor: number | undefined;
  /** Frames analysed so far. */
  private frameIndex = 0;
  /** Samples pushed so far. */
  private pushed = 0;
  private pending: Float32Array;
  private pendingLength = 0;
  /** End of the previous utterance (a new one may not start before it). */
  private lastEnd = 0;

  // Candidate onset (state silence).
  private runStartFrame = -1;
  private runLoudFrames = 0;

  // Utterance in progress (state speech).
  private uttStart = 0;
  /** Frame index of the first frame of the utterance's energy history. */
  private historyStartFrame = 0;
  private history: number[] = [];
  private quietFrames = 0;
  private quietStartFrame = 0;

  constructor(options: Partial<VadOptions> = {}) {
    this.options = resolveVadOptions(options);
    const o = this.options;
    this.frameSize = Math.round((o.sampleRate * o.frameMs) / 1000);
    const frameMs = (this.frameSize / o.sampleRate) * 1000;
    this.minSpeechFrames = Math.max(1, Math.ceil(o.minSpeechMs / frameMs - 1e-9));
    this.hangoverFrames = Math.max(1, Math.ceil(o.hangoverMs / frameMs - 1e-9));
    this.maxFrames = Math.max(4, Math.floor(o.maxUtteranceMs / frameMs + 1e-9));
    this.paddingSamples = Math.round((o.paddingMs / 1000) * o.sampleRate);
    this.cutWindowFrames = Math.max(1, Math.round(o.cutWindowMs / frameMs));
    this.fallAlpha = 1 - Math.exp(-frameMs / o.floorFallMs);
    this.risePerFrame = (o.floorRiseDbPerSec * frameMs) / 1000;
    this.floor = o.initialFloorDb === undefined ? undefined : Math.max(o.floorMinDb, o.initialFloorDb);
    this.pending = new Float32Array(this.frameSize);
  }

  /** Whether an utterance is in progress. */
  get inSpeech(): boolean {
    return this.state === 'speech';
  }

  /** First sample of the utterance in progress, or undefined. */
  get utteranceStart(): number | undefined {
    return this.state === 'speech' ? this.uttStart : undefined;
  }

  /** Samples pushed so far. */
  get position(): number {
    return this.pushed;
  }

  /** Current noise floor estimate in dBFS (undefined before the first frame). */
  get noiseFloorDb(): number | undefined {
    return this.floor;
  }

  /**
   * The earliest sample that a future event may still refer to: a consumer buffering the
   * audio may drop everything before it.
   */
  get retainFrom(): number {
    if (this.state === 'speech') return this.uttStart;
    const candidate = this.runStartFrame >= 0 ? this.runStartFrame * this.frameSize : this.frameIndex * this.frameSize;
    return Math.max(this.lastEnd, Math.min(candidate, this.frameIndex * this.frameSize) - this.paddingSamples, 0);
  }

  /** Analyse more samples; returns the events they complete, in order. */
  push(samples: Float32Array): VadEvent[] {
    const events: VadEvent[] = [];
    let offset = 0;
    this.pushed += samples.length;
    if (this.pendingLength > 0) {
      const take = Math.min(this.frameSize - this.pendingLength, samples.length);
      this.pending.set(samples.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < this.frameSize) return events;
      this.analyse(energyDb(this.pending, 0, this.frameSize), events);
      this.pendingLength = 0;
    }
    while (offset + this.frameSize <= samples.length) {
      this.analyse(energyDb(samples, offset, this.frameSize), events);
      offset += this.frameSize;
    }
    if (offset < samples.length) {
      this.pending.set(samples.subarray(offset));
      this.pendingLength = samples.length - offset;
    }
    return events;
  }

  /** End of the stream: ends the utterance in progress (reason 'flush') at the last sample. */
  flush(): VadEvent[] {
    if (this.state !== 'speech') return [];
    const end = this.quietFrames > 0 ? Math.min(this.pushed, this.quietStartFrame * this.frameSize + this.paddingSamples) : this.pushed;
    return [this.finish(end, 'flush')];
  }

  private finish(end: number, reason: EndReason): VadEvent {
    const event: VadEvent = { type: 'end', start: this.uttStart, end, reason };
    this.state = 'silence';
    this.lastEnd = end;
    this.runStartFrame = -1;
    this.runLoudFrames = 0;
    this.history = [];
    this.quietFrames = 0;
    return event;
  }

  private analyse(e: number, events: VadEvent[]): void {
    const i = this.frameIndex++;
    if (this.floor === undefined) this.floor = Math.max(this.options.floorMinDb, e);
    const floor = this.floor;
    const startLevel = floor + this.options.startDb;
    const endLevel = floor + this.options.endDb;

    if (this.state === 'silence') {
      if (e >= startLevel) {
        if (this.runStartFrame < 0) this.runStartFrame = i;
        this.runLoudFrames++;
      } else if (e < endLevel || this.runStartFrame < 0) {
        this.runStartFrame = -1;
        this.runLoudFrames = 0;
      }
      if (this.runLoudFrames >= this.minSpeechFrames) {
        this.state = 'speech';
        this.uttStart = Math.max(this.lastEnd, this.runStartFrame * this.frameSize - this.paddingSamples, 0);
        this.quietFrames = 0;
        // Energy history from the utterance start (frames before the run are part of the pre-roll).
        this.historyStartFrame = i + 1;
        this.history = [];
        events.push({ type: 'start', start: this.uttStart });
      }
    } else {
      this.history.push(e);
      if (e < endLevel) {
        if (this.quietFrames === 0) this.quietStartFrame = i;
        this.quietFrames++;
      } else {
        this.quietFrames = 0;
      }
      const frameEnd = (i + 1) * this.frameSize;
      if (this.quietFrames >= this.hangoverFrames) {
        events.push(this.finish(Math.min(frameEnd, this.quietStartFrame * this.frameSize + this.paddingSamples), 'silence'));
      } else if (frameEnd - this.uttStart >= this.maxFrames * this.frameSize) {
        this.cut(frameEnd, events);
      }
    }

    // Adapt the noise floor.
    if (e < floor) this.floor = floor + (e - floor) * this.fallAlpha;
    else this.floor = Math.min(e, floor + this.risePerFrame);
    if (this.floor < this.options.floorMinDb) this.floor = this.options.floorMinDb;
  }

  /** Cut the utterance in progress at its quietest point in the second half; continue after it. */
  private cut(frameEnd: number, events: VadEvent[]): void {
    const fs = this.frameSize;
    const startFrame = Math.ceil(this.uttStart / fs);
    const endFrame = frameEnd / fs; // exclusive
    const lo = Math.max(this.historyStartFrame, startFrame + Math.floor((endFrame - startFrame) / 2));
    const w = this.cutWindowFrames;
    const power = (f: number): number => 10 ** ((this.history[f - this.historyStartFrame] as number) / 10);
    let best = -1;
    let bestPower = Infinity;
    // Window [c - half, c - half + w) centred on candidate frame c; the cut falls at the start of frame c.
    const half = Math.floor(w / 2);
    for (let c = lo; c < endFrame; c++) {
      let sum = 0;
      let n = 0;
      for (let f = c - half; f < c - half + w; f++) {
        if (f < this.historyStartFrame || f >= endFrame) continue;
        sum += power(f);
        n++;
      }
      const p = sum / Math.max(1, n);
      if (p < bestPower) {
        bestPower = p;
        best = c;
      }
    }
    if (this.quietFrames > 0 && best >= this.quietStartFrame) {
      // The quietest point is the pause the speech is in now: end there rather than start a
      // new utterance that would hold nothing but silence.
      events.push(this.finish(Math.min(frameEnd, this.quietStartFrame * fs + this.paddingSamples), 'max-length'));
      return;
    }
    const cutSample = best > startFrame ? best * fs : frameEnd;
    events.push({ type: 'end', start: this.uttStart, end: cutSample, reason: 'max-length' });
    // Continue at once (the speech has not stopped), keeping the energy of the frames after the cut.
    this.lastEnd = cutSample;
    this.uttStart = cutSample;
    const keepFrom = cutSample / fs;
    this.history = this.history.slice(Math.max(0, keepFrom - this.historyStartFrame));
    this.historyStartFrame = Math.max(this.historyStartFrame, keepFrom);
    if (this.quietFrames > 0 && this.quietStartFrame < keepFrom) {
      this.quietStartFrame = keepFrom;
      this.quietFrames = endFrame - keepFrom;
    }
    events.push({ type: 'start', start: cutSample });
  }
}

/** Run the detector over a whole signal: the utterances, in order. */
export function detectSegments(samples: Float32Array, options: Partial<VadOptions> = {}): VadSegment[] {
  const vad = new VoiceActivityDetector(options);
  const segments: VadSegment[] = [];
  for (const e of [...vad.push(samples), ...vad.flush()]) {
    if (e.type === 'end') segments.push({ start: e.start, end: e.end, reason: e.reason });
  }
  return segments;
}
