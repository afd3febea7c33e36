import { describe, expect, it } from 'vitest';
import type { Segment } from '../src/long-audio.js';
import { cuesFromSegments, toSrt, toVtt } from '../src/output/subtitles.js';

const word = (w: string, start: number, end: number) => ({ word: w, start, end, confidence: 1 });

describe('subtitles', () => {
  const segments: Segment[] = [
    { start: 0.5, end: 2.25, text: 'hello world', confidence: 0.9, words: [word('hello', 0.6, 1.1), word('world', 1.3, 2.1)] },
    { start: 3661.002, end: 3663, text: 'again', confidence: 0.8, words: [word('again', 3661.1, 3662.9)] },
  ];

  it('writes SubRip and WebVTT cues with their time formats', () => {
    const cues = cuesFromSegments(segments);
    expect(toSrt(cues)).toBe('1\n00:00:00,500 --> 00:00:02,250\nhello world\n\n2\n01:01:01,002 --> 01:01:03,000\nagain\n');
    expect(toVtt(cues)).toBe('WEBVTT\n\n00:00:00.500 --> 00:00:02.250\nhello world\n\n01:01:01.002 --> 01:01:03.000\nagain\n');
  });

  it('splits a long segment between words, using word times', () => {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'].map((w, i) => word(w, 10 + i, 10.8 + i));
    const long: Segment = { start: 9.5, end: 16.5, text: words.map((w) => w.word).join(' '), confidence: 1, words };
    const cues = cuesFromSegments([long], 20);
    expect(cues.map((c) => c.text)).toEqual(['alpha bravo charlie', 'delta echo foxtrot']);
    expect(cues[0]).toMatchObject({ start: 9.5, end: 12.8 });
    expect(cues[1]).toMatchObject({ start: 13, end: 16.5 });
  });
});
