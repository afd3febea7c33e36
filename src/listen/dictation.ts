/**
 * Live dictation: 16 kHz mono audio in, as it arrives; partial and final transcripts out.
 *
 * Each chunk goes through the voice-activity detector (src/vad). While an utterance is in
 * progress, the audio so far is re-decoded (greedy) every `partialIntervalMs` of audio and
 * reported as a `partial` when its text changes; when the detector ends the utterance, it is
 * decoded once more (with the requested beam) and reported as a `final`.
 *
 * Real time: with `realtime` set, a partial is skipped (and tried again at the next chunk)
 * whenever processing has fallen behind the audio clock by more than `maxLagMs`, or more
 * audio is already waiting in the same chunk; voice detection itself is cheap and never
 * skipped, so the dictation catches up instead of lagging further. Finals are never
 * skipped. Without `realtime` (files with --fast, tests) every partial is decoded, so the
 * output is deterministic.
 */
import type { DecodeOptions, Hypothesis } from '../decode/hypothesis.js';
import type { FeatureMatrix } from '../features/index.js';
import { definedOnly } from '../util/defined.js';
import { VoiceActivityDetector, type EndReason, type VadOptions } from '../vad/index.js';
import { SampleBuffer } from './buffer.js';

export const LISTEN_SAMPLE_RATE = 16000;

/** What dictation needs from a model; {@link Transcriber} provides it. */
export interface Recognizer {
  features(samples16k: Float32Array): FeatureMatrix;
  decode(features: FeatureMatrix, options?: Partial<DecodeOptions>): Hypothesis[];
}

export interface DictationOptions {
  /** Voice-activity detector settings (sample rate is fixed at 16 kHz). */
  vad: Partial<VadOptions>;
  /** Beam width of the final decoding (partials are always greedy). Default 1. */
  beam: number;
  /** Audio between two partials of an utterance, in ms; 0 = no partials. Default 500. */
  partialIntervalMs: number;
  /** Skip partials rather than fall behind the audio clock. Default true. */
  realtime: boolean;
  /** How far behind the audio clock processing may be before partials are skipped. Default 300. */
  maxLagMs: number;
  /** Audio is processed in steps of at most this many ms (partials are considered after each). Default 100. */
  stepMs: number;
  /** Wall clock in ms (for tests). Default performance.now. */
  now: () => number;
}

export const DEFAULT_DICTATION_OPTIONS: Readonly<Omit<DictationOptions, 'vad' | 'now'>> = Object.freeze({
  beam: 1,
  partialIntervalMs: 500,
  realtime: true,
  maxLagMs: 300,
  stepMs: 100,
});

export interface PartialEvent {
  event: 'partial';
  /** 1-based utterance number. */
  utterance: number;
  text: string;
  /** Seconds from the start of the stream. */
  start: number;
  end: number;
}

export interface FinalEvent {
  event: 'final';
  utterance: number;
  text: string;
  start: number;
  end: number;
  confidence: number;
  /** Why the utterance ended: a pause, the maximum length, or the end of the stream. */
  reason: EndReason;
  /** The utterance's audio (16 kHz mono). */
  samples: Float32Array;
}

export type DictationEvent = PartialEvent | FinalEvent;

export interface DictationStats {
  utterances: number;
  partials: number;
  /** Partials not decoded because processing was behind the audio. */
  skippedPartials: number;
  /** Seconds of audio processed. */
  duration: number;
}

/** Sliding-window minimum of (wall-clock audio - received audio), to measure lag despite clock drift. */
const LAG_WINDOW_MS = 5000;

export class Dictation {
  readonly options: DictationOptions;
  private readonly vad: VoiceActivityDetector;
  private readonly buffer = new SampleBuffer();
  private readonly intervalSamples: number;
  private readonly stepSamples: number;
  private utterance = 0;
  private lastPartialPos = 0;
  private lastPartialText = '';
  private lastSlot = 0;
  private ended = false;
  private readonly lagHistory: { wall: number; raw: number }[] = [];
  readonly stats: DictationStats = { utterances: 0, partials: 0, skippedPartials: 0, duration: 0 };

  constructor(
    private readonly recognizer: Recognizer,
    private readonly onEvent: (event: DictationEvent) => void,
    options: Partial<DictationOptions> = {},
  ) {
    this.options = { ...DEFAULT_DICTATION_OPTIONS, vad: {}, now: () => performance.now(), ...definedOnly(options) };
    if (!Number.isInteger(this.options.beam) || this.options.beam < 1) throw new RangeError('beam must be a positive integer');
    if (!(this.options.partialIntervalMs >= 0)) throw new RangeError('partial interval must be non-negative');
    if (!(this.options.stepMs > 0)) throw new RangeError('step must be positive');
    this.vad = new VoiceActivityDetector({ ...this.options.vad, sampleRate: LISTEN_SAMPLE_RATE });
    this.intervalSamples = Math.round((this.options.partialIntervalMs / 1000) * LISTEN_SAMPLE_RATE);
    this.stepSamples = Math.max(1, Math.round((this.options.stepMs / 1000) * LISTEN_SAMPLE_RATE));
  }

  /** Whether an utterance is in progress. */
  get inSpeech(): boolean {
    return this.vad.inSpeech;
  }

  /** Seconds of audio received. */
  get position(): number {
    return this.vad.position / LISTEN_SAMPLE_RATE;
  }

  /** Current noise floor estimate in dBFS. */
  get noiseFloorDb(): number | undefined {
    return this.vad.noiseFloorDb;
  }

  /** Feed 16 kHz mono samples; events are delivered synchronously through the callback. */
  write(chunk: Float32Array): void {
    if (this.ended) throw new Error('Dictation: write after end');
    if (chunk.length === 0) return;
    const received = this.vad.position + chunk.length;
    const lag = this.options.realtime ? this.measureLag(received) : 0;
    for (let off = 0; off < chunk.length; off += this.stepSamples) {
      const piece = chunk.subarray(off, Math.min(chunk.length, off + this.stepSamples));
      this.buffer.append(piece);
      for (const e of this.vad.push(piece)) {
        if (e.type === 'start') this.beginUtterance(e.start);
        else this.finishUtterance(e.start, e.end, e.reason);
      }
      const more = off + this.stepSamples < chunk.length;
      this.maybePartial(this.options.realtime && (more || lag > this.options.maxLagMs / 1000));
      this.buffer.discardBefore(this.vad.retainFrom);
    }
    this.stats.duration = this.vad.position / LISTEN_SAMPLE_RATE;
  }

  /** End of the audio: the utterance in progress (if any) is finalized. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const e of this.vad.flush()) {
      if (e.type === 'end') this.finishUtterance(e.start, e.end, e.reason);
    }
    this.stats.duration = this.vad.position / LISTEN_SAMPLE_RATE;
  }

  /** Seconds by which received audio trails the wall clock, relative to the best seen recently. */
  private measureLag(received: number): number {
    const wall = this.options.now();
    const raw = wall / 1000 - received / LISTEN_SAMPLE_RATE;
    const h = this.lagHistory;
    while (h.length > 0 && (h[h.length - 1] as { raw: number }).raw >= raw) h.pop();
    h.push({ wall, raw });
    while (h.length > 1 && wall - (h[0] as { wall: number }).wall > LAG_WINDOW_MS) h.shift();
    return raw - (h[0] as { raw: number }).raw;
  }

  private beginUtterance(start: number): void {
    this.utterance++;
    this.lastPartialPos = start;
    this.lastPartialText = '';
    this.lastSlot = 0;
  }

  private maybePartial(behind: boolean): void {
    const start = this.vad.utteranceStart;
    if (start === undefined || this.intervalSamples === 0) return;
    const pos = this.vad.position;
    if (pos - this.lastPartialPos < this.intervalSamples) return;
    if (behind) return;
    // Partials are due on a grid of intervals from the utterance start; count the grid
    // points passed over without a decoding.
    const slot = Math.floor((pos - start) / this.intervalSamples);
    this.stats.skippedPartials += Math.max(0, slot - this.lastSlot - 1);
    this.lastSlot = slot;
    this.lastPartialPos = pos;
    const hyp = this.recognizer.decode(this.recognizer.features(this.buffer.slice(start, pos)), { beam: 1 })[0];
    const text = hyp?.text ?? '';
    if (text === '' || text === this.lastPartialText) return;
    this.lastPartialText = text;
    this.stats.partials++;
    this.onEvent({ event: 'partial', utterance: this.utterance, text, start: start / LISTEN_SAMPLE_RATE, end: pos / LISTEN_SAMPLE_RATE });
  }

  private finishUtterance(start: number, end: number, reason: EndReason): void {
    const samples = this.buffer.slice(start, end);
    const hyp = this.recognizer.decode(this.recognizer.features(samples), { beam: this.options.beam })[0];
    this.stats.utterances++;
    this.onEvent({
      event: 'final',
      utterance: this.utterance,
      text: hyp?.text ?? '',
      start: start / LISTEN_SAMPLE_RATE,
      end: end / LISTEN_SAMPLE_RATE,
      confidence: hyp?.confidence ?? 0,
      reason,
      samples,
    });
  }
}
