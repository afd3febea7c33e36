/** SubRip (.srt) and WebVTT (.vtt) subtitles from transcribed segments. */
import type { Segment } from '../long-audio.js';

export interface Cue {
  start: number;
  end: number;
  text: string;
}

/**
 * One cue per segment, split further where a segment is long: cues of at most `maxChars`
 * characters (about two subtitle lines), cut between words using the word times.
 */
export function cuesFromSegments(segments: readonly Segment[], maxChars = 84): Cue[] {
  const cues: Cue[] = [];
  for (const s of segments) {
    if (s.text.length <= maxChars || s.words.length === 0) {
      cues.push({ start: s.start, end: s.end, text: s.text });
      continue;
    }
    let words: typeof s.words = [];
    let first = true;
    const flush = (last: boolean): void => {
      if (words.length === 0) return;
      const start = first ? s.start : (words[0] as (typeof words)[number]).start;
      const end = last ? s.end : (words.at(-1) as (typeof words)[number]).end;
      cues.push({ start, end, text: words.map((w) => w.word).join(' ') });
      words = [];
      first = false;
    };
    for (const w of s.words) {
      const length = words.reduce((n, x) => n + x.word.length + 1, 0) + w.word.length;
      if (words.length > 0 && length > maxChars) flush(false);
      words.push(w);
    }
    flush(true);
  }
  return cues;
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

export function toSrt(cues: readonly Cue[]): string {
  return cues.map((c, i) => `${i + 1}\n${timestamp(c.start, ',')} --> ${timestamp(c.end, ',')}\n${c.text}\n`).join('\n');
}

export function toVtt(cues: readonly Cue[]): string {
  return 'WEBVTT\n\n' + cues.map((c) => `${timestamp(c.start, '.')} --> ${timestamp(c.end, '.')}\n${c.text}\n`).join('\n');
}
