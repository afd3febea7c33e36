/**
 * How `koe listen` shows its events.
 *
 * - `json`: one JSON object per line and event on stdout: `ready` (audio is flowing),
 *   `partial`, `final`, then `end` (stopped cleanly, with counts) or `error` (with a
 *   message, also printed on stderr). Times are seconds from the
 *   start of the audio stream.
 * - terminal (stdout is a TTY): the partial transcript rewrites the current line (its tail,
 *   if it is wider than the terminal); the final transcript replaces it and ends the line.
 * - otherwise (pipe, file): one line per final transcript; with `--partials`, partials too,
 *   each on its own line prefixed with "[partial] ".
 */
import type { FinalEvent, PartialEvent } from './dictation.js';

export type PrintMode = 'json' | 'tty' | 'plain';

export const PARTIAL_PREFIX = '[partial] ';

export interface PrinterOptions {
  mode: PrintMode;
  /** Show partial transcripts. */
  partials: boolean;
  write: (text: string) => void;
  /** Terminal width (tty mode). */
  columns?: () => number | undefined;
}

export interface ReadyInfo {
  source: 'microphone' | 'file';
  recorder?: string;
  device?: string;
  /** The recorder's process id. */
  pid?: number;
  file?: string;
  model: string;
  backend: string;
}

export interface EndInfo {
  duration: number;
  utterances: number;
  partials: number;
  skippedPartials: number;
}

const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export class EventPrinter {
  /** Whether a partial is on the current terminal line. */
  private lineDirty = false;

  constructor(readonly options: PrinterOptions) {}

  ready(info: ReadyInfo): void {
    if (this.options.mode !== 'json') return;
    const line: Record<string, unknown> = { event: 'ready', source: info.source };
    if (info.recorder !== undefined) line.recorder = info.recorder;
    if (info.source === 'microphone') line.device = info.device ?? 'default';
    if (info.pid !== undefined) line.pid = info.pid;
    if (info.file !== undefined) line.file = info.file;
    line.sampleRate = 16000;
    line.model = info.model;
    line.backend = info.backend;
    this.json(line);
  }

  partial(e: PartialEvent): void {
    if (!this.options.partials) return;
    switch (this.options.mode) {
      case 'json':
        this.json({ event: 'partial', utterance: e.utterance, text: e.text, start: round(e.start), end: round(e.end) });
        break;
      case 'tty': {
        const columns = this.options.columns?.();
        const width = Math.max(10, (columns !== undefined && columns > 0 ? columns : 80) - 1);
        const shown = e.text.length > width ? '…' + e.text.slice(e.text.length - width + 1) : e.text;
        this.options.write(`\r\x1b[2K\x1b[2m${shown}\x1b[22m`);
        this.lineDirty = true;
        break;
      }
      case 'plain':
        this.options.write(`${PARTIAL_PREFIX}${e.text}\n`);
        break;
    }
  }

  final(e: FinalEvent, extra: { wav?: string } = {}): void {
    switch (this.options.mode) {
      case 'json': {
        const line: Record<string, unknown> = {
          event: 'final',
          utterance: e.utterance,
          text: e.text,
          start: round(e.start),
          end: round(e.end),
          confidence: round(e.confidence, 4),
          reason: e.reason === 'flush' ? 'stopped' : e.reason,
        };
        if (extra.wav !== undefined) line.wav = extra.wav;
        this.json(line);
        break;
      }
      case 'tty':
        this.clearLine();
        if (e.text !== '') this.options.write(`${e.text}\n`);
        break;
      case 'plain':
        if (e.text !== '') this.options.write(`${e.text}\n`);
        break;
    }
  }

  end(info: EndInfo): void {
    this.clearLine();
    if (this.options.mode !== 'json') return;
    this.json({ event: 'end', duration: round(info.duration), utterances: info.utterances, partials: info.partials, skippedPartials: info.skippedPartials });
  }

  /** A fatal error (also printed on stderr by the command): JSON consumers see it in the stream. */
  error(message: string, code?: string): void {
    this.clearLine();
    if (this.options.mode !== 'json') return;
    this.json(code === undefined ? { event: 'error', message } : { event: 'error', code, message });
  }

  /** Erase a partial shown on the terminal (before other output, or at the end). */
  clearLine(): void {
    if (!this.lineDirty) return;
    this.options.write('\r\x1b[2K');
    this.lineDirty = false;
  }

  private json(obj: Record<string, unknown>): void {
    this.options.write(JSON.stringify(obj) + '\n');
  }
}
