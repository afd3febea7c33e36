import { describe, expect, it } from 'vitest';
import {
  alignChars,
  alignWords,
  charErrors,
  ErrorAccumulator,
  errorRate,
  formatAlignment,
  splitChars,
  splitWords,
  wordErrors,
} from '../src/metrics/wer.js';

describe('wordErrors', () => {
  it('one deletion', () => {
    // REF: the cat sat on THE mat
    // HYP: the cat sat on *** mat   -> D1, 6 reference words
    expect(wordErrors('the cat sat on the mat', 'the cat sat on mat')).toEqual({
      sub: 0,
      del: 1,
      ins: 0,
      hits: 5,
      refLength: 6,
    });
  });

  it('substitution + insertion', () => {
    // REF: a B c ***
    // HYP: a X c D     -> S1 I1
    expect(wordErrors('a b c', 'a x c d')).toEqual({ sub: 1, del: 0, ins: 1, hits: 2, refLength: 3 });
  });

  it('empty hypothesis: all deletions', () => {
    expect(wordErrors('a b c', '')).toEqual({ sub: 0, del: 3, ins: 0, hits: 0, refLength: 3 });
    expect(wordErrors('a b c', '   ')).toEqual({ sub: 0, del: 3, ins: 0, hits: 0, refLength: 3 });
  });

  it('empty reference: all insertions, rate = edits / max(1, 0)', () => {
    const c = wordErrors('', 'x y');
    expect(c).toEqual({ sub: 0, del: 0, ins: 2, hits: 0, refLength: 0 });
    expect(errorRate(c)).toBe(2);
  });

  it('both empty: no errors, rate 0', () => {
    const c = wordErrors('', '');
    expect(c).toEqual({ sub: 0, del: 0, ins: 0, hits: 0, refLength: 0 });
    expect(errorRate(c)).toBe(0);
  });

  it('identical: 0 errors; extra whitespace is not an error', () => {
    expect(wordErrors('hello there world', 'hello there world')).toEqual({
      sub: 0,
      del: 0,
      ins: 0,
      hits: 3,
      refLength: 3,
    });
    expect(wordErrors('  hello   there\tworld\n', 'hello there world')).toMatchObject({ sub: 0, del: 0, ins: 0 });
  });

  it('is case-sensitive (normalize first)', () => {
    expect(wordErrors('Hello', 'hello')).toMatchObject({ sub: 1 });
  });

  it("tie rule: 'substitutions' by default, 'hits' on request", () => {
    // "a b" vs "b c": S S (default) or D + hit + I (prefer hits); 2 edits either way.
    expect(wordErrors('a b', 'b c')).toMatchObject({ sub: 2, del: 0, ins: 0, hits: 0 });
    expect(wordErrors('a b', 'b c', { prefer: 'hits' })).toMatchObject({ sub: 0, del: 1, ins: 1, hits: 1 });
  });
});

describe('charErrors', () => {
  it('kitten -> sitting: 2 substitutions + 1 insertion', () => {
    // K i t t E n ***
    // S i t t I n G     -> S2 I1 over 6 reference characters
    expect(charErrors('kitten', 'sitting')).toEqual({ sub: 2, del: 0, ins: 1, hits: 4, refLength: 6 });
  });

  it('counts the spaces between words', () => {
    // "ab cd" (5 chars) vs "abcd": the space is deleted -> D1
    expect(charErrors('ab cd', 'abcd')).toEqual({ sub: 0, del: 1, ins: 0, hits: 4, refLength: 5 });
    // "the cat" vs "the bat": 1 substitution over 7 characters
    expect(charErrors('the cat', 'the bat')).toEqual({ sub: 1, del: 0, ins: 0, hits: 6, refLength: 7 });
  });

  it('ignores extra, leading and trailing whitespace', () => {
    expect(charErrors('a b', '  a    b ')).toEqual({ sub: 0, del: 0, ins: 0, hits: 3, refLength: 3 });
  });

  it('works on code points, not UTF-16 units', () => {
    expect(splitChars('a😀 b')).toEqual(['a', '😀', ' ', 'b']);
    expect(charErrors('a😀', 'ab')).toEqual({ sub: 1, del: 0, ins: 0, hits: 1, refLength: 2 });
  });

  it('empty cases', () => {
    expect(charErrors('', '')).toEqual({ sub: 0, del: 0, ins: 0, hits: 0, refLength: 0 });
    expect(charErrors('', 'ab c')).toEqual({ sub: 0, del: 0, ins: 4, hits: 0, refLength: 0 });
    expect(charErrors('ab c', '')).toEqual({ sub: 0, del: 4, ins: 0, hits: 0, refLength: 4 });
  });
});

describe('splitWords', () => {
  it('splits on any whitespace', () => {
    expect(splitWords(' a\tb\n c  ')).toEqual(['a', 'b', 'c']);
    expect(splitWords('')).toEqual([]);
    expect(splitWords(' \n ')).toEqual([]);
  });
});

describe('ErrorAccumulator', () => {
  it('sums over utterances (corpus-level rates, not averaged per utterance)', () => {
    const acc = new ErrorAccumulator();
    // 1. words: D1 of 6.  chars: "the cat sat on the mat" (22) -> "the cat sat on mat" (18): D4
    const u1 = acc.add('the cat sat on the mat', 'the cat sat on mat');
    expect(u1.word).toEqual({ sub: 0, del: 1, ins: 0, hits: 5, refLength: 6 });
    expect(u1.char).toEqual({ sub: 0, del: 4, ins: 0, hits: 18, refLength: 22 });
    // 2. words: S1 I1 of 3.  chars: "a b c" (5) -> "a x c d" (7): b->x S1, " d" I2
    const u2 = acc.add('a b c', 'a x c d');
    expect(u2.char).toEqual({ sub: 1, del: 0, ins: 2, hits: 4, refLength: 5 });
    // 3. empty / empty: nothing
    acc.add('', '');
    // 4. words: D2 of 2.  chars: D11 of 11
    acc.add('hello world', '');

    expect(acc.utts).toBe(4);
    expect(acc.words).toBe(11); // 6 + 3 + 0 + 2
    expect([acc.sub, acc.del, acc.ins, acc.hits]).toEqual([1, 3, 1, 7]); // hits 5 + 2 + 0 + 0
    expect(acc.wer).toBeCloseTo(5 / 11, 12); // (1 + 3 + 1) / 11
    expect(acc.chars).toBe(38); // 22 + 5 + 0 + 11
    expect(acc.cer).toBeCloseTo(18 / 38, 12); // (4) + (1 + 2) + 0 + (11)
    expect(acc.summary()).toEqual({ wer: 5 / 11, cer: 18 / 38, sub: 1, del: 3, ins: 1, words: 11, utts: 4 });
    // Averaging per-utterance WERs would give (1/6 + 2/3 + 0 + 1) / 4, which is not what we report.
    expect(acc.wer).not.toBeCloseTo((1 / 6 + 2 / 3 + 0 + 1) / 4, 3);
  });

  it('starts at zero', () => {
    const acc = new ErrorAccumulator();
    expect([acc.wer, acc.cer, acc.utts, acc.words, acc.chars]).toEqual([0, 0, 0, 0, 0]);
  });

  it('only empty references: errors / 1 rather than Infinity', () => {
    const acc = new ErrorAccumulator();
    acc.add('', 'oops');
    expect(acc.wer).toBe(1); // 1 insertion / max(1, 0)
    expect(acc.cer).toBe(4); // 4 insertions / max(1, 0)
    expect(JSON.parse(JSON.stringify(acc.summary())).wer).toBe(1);
  });

  it('merges and accepts precomputed counts', () => {
    const a = new ErrorAccumulator();
    a.add('a b c', 'a b');
    const b = new ErrorAccumulator();
    b.addCounts(wordErrors('x y', 'x z'), charErrors('x y', 'x z'));
    a.merge(b);
    expect(a.utts).toBe(2);
    expect(a.words).toBe(5);
    expect(a.wer).toBeCloseTo(2 / 5, 12); // D1 + S1 over 3 + 2
  });

  it('passes the tie preference through', () => {
    const acc = new ErrorAccumulator({ prefer: 'hits' });
    acc.add('a b', 'b c');
    expect([acc.sub, acc.del, acc.ins]).toEqual([0, 1, 1]);
  });
});

describe('formatAlignment', () => {
  it('prints REF/HYP/EVA with S, D, I markers (sclite pralign style)', () => {
    // Hand alignment: THE deleted, sat->sit substituted, "big" inserted.
    const a = alignWords('the cat sat on the mat', 'cat sit on the big mat');
    expect([a.sub, a.del, a.ins]).toEqual([1, 1, 1]);
    expect(formatAlignment(a.ops)).toBe(
      ['REF: THE cat SAT on the *** mat', 'HYP: *** cat SIT on the BIG mat', 'EVA: D       S          I'].join('\n'),
    );
  });

  it('pads columns to the wider token and fills missing sides with stars', () => {
    const a = alignWords('the cat sat on the mat', 'the cat sit on a the', { prefer: 'hits' });
    expect(formatAlignment(a.ops)).toBe(
      ['REF: the cat SAT on *** the MAT', 'HYP: the cat SIT on A   the ***', 'EVA:         S      I       D'].join('\n'),
    );
    const b = alignWords('a b', 'a bcdefg');
    expect(formatAlignment(b.ops)).toBe(['REF: a B', 'HYP: a BCDEFG', 'EVA:   S'].join('\n'));
    const c = alignWords('a longword', 'a');
    expect(formatAlignment(c.ops)).toBe(['REF: a LONGWORD', 'HYP: a ********', 'EVA:   D'].join('\n'));
  });

  it('shows spaces in character alignments as _', () => {
    const a = alignChars('ab cd', 'abcd e');
    expect(formatAlignment(a.ops)).toBe(
      ['REF: a b _   c d *** ***', 'HYP: a b *** c d _   E', 'EVA:     D       I   I'].join('\n'),
    );
  });

  it('can keep case and wrap long alignments', () => {
    const a = alignWords('one two three four five six', 'one too three for five six seven');
    expect(formatAlignment(a.ops, { upperCaseErrors: false, lineWidth: 20 })).toBe(
      [
        'REF: one two three',
        'HYP: one too three',
        'EVA:     S',
        '',
        'REF: four five six',
        'HYP: for  five six',
        'EVA: S',
        '',
        'REF: *****',
        'HYP: seven',
        'EVA: I',
      ].join('\n'),
    );
  });

  it('empty alignment', () => {
    expect(formatAlignment([])).toBe('REF:\nHYP:\nEVA:');
  });
});
