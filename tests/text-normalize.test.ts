import { describe, expect, it } from 'vitest';
import { findUnsupportedChars, isNormalizedText, normalizeTranscript } from '../src/text/normalize.js';

describe('normalizeTranscript', () => {
  it('lowercases and drops sentence punctuation', () => {
    expect(normalizeTranscript('Hello, World!')).toBe('hello world');
    expect(normalizeTranscript('Wait; what? Yes: "really".')).toBe('wait what yes really');
    expect(normalizeTranscript('(parenthetical) [bracketed] {braced}')).toBe('parenthetical bracketed braced');
  });

  it('maps curly quotes to straight and keeps in-word apostrophes', () => {
    expect(normalizeTranscript('Don’t')).toBe("don't");
    expect(normalizeTranscript('I‘m')).toBe("i'm");
    expect(normalizeTranscript('it`s')).toBe("it's");
    expect(normalizeTranscript("rock'n'roll")).toBe("rock'n'roll");
    expect(normalizeTranscript("o'clock")).toBe("o'clock");
  });

  it('strips quote-apostrophes around words', () => {
    expect(normalizeTranscript("'quoted'")).toBe('quoted');
    expect(normalizeTranscript('He said ‘hello’ to me')).toBe('he said hello to me');
    expect(normalizeTranscript('“Double” quotes')).toBe('double quotes');
    expect(normalizeTranscript("the dogs' bones")).toBe('the dogs bones');
    expect(normalizeTranscript("'cause I said so")).toBe('cause i said so');
    expect(normalizeTranscript("' lone '")).toBe('lone');
    expect(normalizeTranscript("'don't'")).toBe("don't");
  });

  it('turns hyphens and dashes into spaces', () => {
    expect(normalizeTranscript('well-known')).toBe('well known');
    expect(normalizeTranscript('yes—no–maybe')).toBe('yes no maybe');
    expect(normalizeTranscript('a ‐ b ‑ c − d')).toBe('a b c d');
    expect(normalizeTranscript('end -- of story')).toBe('end of story');
  });

  it('joins abbreviation dots, other punctuation separates', () => {
    expect(normalizeTranscript('The U.S.A. is big.')).toBe('the usa is big');
    expect(normalizeTranscript('Mr. Smith')).toBe('mr smith');
    expect(normalizeTranscript('and/or')).toBe('and or');
    expect(normalizeTranscript('wait...what')).toBe('wait what');
    expect(normalizeTranscript('wait…what')).toBe('wait what');
    expect(normalizeTranscript('snake_case')).toBe('snake case');
  });

  it('collapses whitespace, trims, removes invisible characters', () => {
    expect(normalizeTranscript('  many   spaces\there\n')).toBe('many spaces here');
    expect(normalizeTranscript('non\u00a0breaking')).toBe('non breaking');
    expect(normalizeTranscript('co\u00adoperate zero\u200bwidth')).toBe('cooperate zerowidth');
    expect(normalizeTranscript('')).toBe('');
    expect(normalizeTranscript(' ,.!? ')).toBe('');
  });

  it('normalizes full-width letters and ligatures (NFKC)', () => {
    expect(normalizeTranscript('ＡＢＣ')).toBe('abc');
    expect(normalizeTranscript('ﬁne')).toBe('fine');
  });

  it('keeps digits, accented letters and spoken symbols (so they can be reported)', () => {
    expect(normalizeTranscript('Café at 5PM')).toBe('café at 5pm');
    expect(normalizeTranscript('Rock & Roll')).toBe('rock & roll');
    expect(normalizeTranscript('50% off, $20')).toBe('50% off $20');
    expect(normalizeTranscript("the '90s")).toBe('the 90s');
  });

  it('folds accents on request', () => {
    expect(normalizeTranscript('Café naïve Straße Æsir Øre', { foldAccents: true })).toBe('cafe naive strasse aesir ore');
    expect(normalizeTranscript('Cafe\u0301', { foldAccents: true })).toBe('cafe');
  });

  it('is idempotent and produces canonical text for supported input', () => {
    const samples = [
      'Hello, World!',
      "“It’s a well-known fact,” she said—'quietly'.",
      "rock'n'roll U.S.A. 'em dogs'",
      'Mr.  Smith ... went -- home!!',
    ];
    for (const s of samples) {
      const n = normalizeTranscript(s);
      expect(normalizeTranscript(n)).toBe(n);
      expect(isNormalizedText(n), n).toBe(true);
    }
    expect(normalizeTranscript("“It’s a well-known fact,” she said—'quietly'.")).toBe(
      "it's a well known fact she said quietly",
    );
  });
});

describe('isNormalizedText', () => {
  it('accepts canonical text', () => {
    expect(isNormalizedText('')).toBe(true);
    expect(isNormalizedText('hello world')).toBe(true);
    expect(isNormalizedText("don't rock'n'roll")).toBe(true);
  });

  it('rejects anything else', () => {
    for (const s of [
      'Hello',
      'hello  world',
      ' hello',
      'hello ',
      'hello, world',
      "'quoted'",
      "dogs'",
      "a''b",
      'café',
      'room 101',
      'tab\there',
      'new\nline',
      "'",
      ' ',
    ]) {
      expect(isNormalizedText(s), JSON.stringify(s)).toBe(false);
    }
  });
});

describe('findUnsupportedChars', () => {
  it('reports distinct characters outside a-z, space and apostrophe, in order of appearance', () => {
    expect(findUnsupportedChars("it's fine")).toEqual([]);
    expect(findUnsupportedChars('room 101 café')).toEqual(['1', '0', 'é']);
    expect(findUnsupportedChars(normalizeTranscript('Rock & Roll at 5PM in Zürich'))).toEqual(['&', '5', 'ü']);
    expect(findUnsupportedChars('Hi!')).toEqual(['H', '!']);
  });

  it('returns whole code points', () => {
    expect(findUnsupportedChars('ok 😀 ok')).toEqual(['😀']);
  });
});
