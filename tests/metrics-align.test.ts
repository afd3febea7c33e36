import { describe, expect, it } from 'vitest';
import { alignCounts, alignTokens, type Alignment, type AlignOp, type TiePreference } from '../src/metrics/align.js';
import { makeRng } from '../src/util/rng.js';

const w = (s: string): string[] => (s.trim() === '' ? [] : s.trim().split(/\s+/));

/**
 * Align a long pair both ways, check that the full alignment and the counts-only one agree and that
 * the alignment covers both sequences, and print how long each took (speed is the benchmark's
 * business, not a test's: shared machines make timings noisy).
 */
function alignLongAndCheck<T>(label: string, ref: T[], hyp: T[]): Alignment<T> {
  const t0 = performance.now();
  const a = alignTokens(ref, hyp);
  const t1 = performance.now();
  const c = alignCounts(ref, hyp);
  const t2 = performance.now();
  expect({ hits: a.hits, sub: a.sub, del: a.del, ins: a.ins }).toEqual(c);
  expect(a.hits + a.sub + a.del).toBe(ref.length);
  expect(a.hits + a.sub + a.ins).toBe(hyp.length);
  console.log(`${label}: alignTokens ${(t1 - t0).toFixed(0)} ms, alignCounts ${(t2 - t1).toFixed(0)} ms`);
  return a;
}

/** Rebuild ref and hyp from the ops: every alignment must cover both sequences exactly, in order. */
function replay<T>(ops: AlignOp<T>[]): { ref: T[]; hyp: T[] } {
  const ref: T[] = [];
  const hyp: T[] = [];
  for (const o of ops) {
    if (o.op !== 'ins') ref.push(o.ref as T);
    if (o.op !== 'del') hyp.push(o.hyp as T);
    if (o.op === 'ok') expect(o.ref).toBe(o.hyp);
    if (o.op === 'sub') expect(o.ref).not.toBe(o.hyp);
  }
  return { ref, hyp };
}

/**
 * Exhaustive search over every alignment path: min edits, then min del+ins ('substitutions') or
 * min sub ('hits'). Only for tiny inputs.
 */
function bruteForce<T>(
  ref: T[],
  hyp: T[],
  prefer: TiePreference = 'substitutions',
): { hits: number; sub: number; del: number; ins: number } {
  let best: [number, number, number, number, number, number] | null = null; // edits, indels, hits, sub, del, ins
  const rec = (i: number, j: number, hits: number, sub: number, del: number, ins: number): void => {
    if (i === ref.length && j === hyp.length) {
      const e = sub + del + ins;
      const second = prefer === 'hits' ? sub : del + ins;
      if (!best || e < best[0] || (e === best[0] && second < best[1])) best = [e, second, hits, sub, del, ins];
      return;
    }
    if (i < ref.length && j < hyp.length) {
      if (ref[i] === hyp[j]) rec(i + 1, j + 1, hits + 1, sub, del, ins);
      else rec(i + 1, j + 1, hits, sub + 1, del, ins);
    }
    if (i < ref.length) rec(i + 1, j, hits, sub, del + 1, ins);
    if (j < hyp.length) rec(i, j + 1, hits, sub, del, ins + 1);
  };
  rec(0, 0, 0, 0, 0, 0);
  const b = best as unknown as [number, number, number, number, number, number];
  return { hits: b[2], sub: b[3], del: b[4], ins: b[5] };
}

describe('alignTokens', () => {
  it('one deleted word', () => {
    // REF: the cat sat on THE mat
    // HYP: the cat sat on *** mat      -> H5 S0 D1 I0
    const a = alignTokens(w('the cat sat on the mat'), w('the cat sat on mat'));
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([5, 0, 1, 0]);
    expect(a.ops.map((o) => o.op)).toEqual(['ok', 'ok', 'ok', 'ok', 'del', 'ok']);
    expect(a.ops[4]).toEqual({ op: 'del', ref: 'the' });
  });

  it('a substitution and an insertion', () => {
    // REF: a B c ***
    // HYP: a X c D        -> H2 S1 D0 I1
    const a = alignTokens(w('a b c'), w('a x c d'));
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([2, 1, 0, 1]);
    expect(a.ops).toEqual([
      { op: 'ok', ref: 'a', hyp: 'a' },
      { op: 'sub', ref: 'b', hyp: 'x' },
      { op: 'ok', ref: 'c', hyp: 'c' },
      { op: 'ins', hyp: 'd' },
    ]);
  });

  it('empty hypothesis: everything deleted', () => {
    const a = alignTokens(w('a b c'), []);
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([0, 0, 3, 0]);
    expect(a.ops.map((o) => o.op)).toEqual(['del', 'del', 'del']);
  });

  it('empty reference: everything inserted', () => {
    const a = alignTokens([], w('x y'));
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([0, 0, 0, 2]);
    expect(a.ops).toEqual([
      { op: 'ins', hyp: 'x' },
      { op: 'ins', hyp: 'y' },
    ]);
  });

  it('both empty', () => {
    expect(alignTokens([], [])).toEqual({ hits: 0, sub: 0, del: 0, ins: 0, ops: [] });
    expect(alignCounts([], [])).toEqual({ hits: 0, sub: 0, del: 0, ins: 0 });
  });

  it('identical sequences: all hits', () => {
    const a = alignTokens(w('one two three'), w('one two three'));
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([3, 0, 0, 0]);
  });

  it('kitten -> sitting: 2 substitutions + 1 insertion', () => {
    // k i t t e n ***
    // S i t t I n G
    // S       S   I   -> H4 S2 D0 I1 (3 edits)
    const a = alignTokens([...'kitten'], [...'sitting']);
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([4, 2, 0, 1]);
    expect(a.ops.map((o) => o.op)).toEqual(['sub', 'ok', 'ok', 'ok', 'sub', 'ok', 'ins']);
  });

  it('tie: prefers 2 substitutions over deletion + hit + insertion', () => {
    // ref "a b", hyp "b c": both alignments cost 2 edits.
    //   A B          vs   A b ***
    //   B C               * b C
    //   S S (H0 S2)       D   I (H1 D1 I1)
    // A naive backtrace that tries insertion/deletion before the diagonal yields the second.
    // Our rule (fewest del+ins among minimum-edit alignments) yields the first.
    const a = alignTokens(w('a b'), w('b c'));
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([0, 2, 0, 0]);
  });

  it("prefer 'hits' splits the same tie the sclite way", () => {
    // Same pair; sclite weights (sub 4, ins 3, del 3): S S = 8 > D + I = 6, so it picks
    //   REF: A   b ***
    //   HYP: *** b C
    //        D     I     -> H1 S0 D1 I1
    const a = alignTokens(w('a b'), w('b c'), { prefer: 'hits' });
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([1, 0, 1, 1]);
    expect(a.ops).toEqual([
      { op: 'del', ref: 'a' },
      { op: 'ok', ref: 'b', hyp: 'b' },
      { op: 'ins', hyp: 'c' },
    ]);
    // A real sentence: ref "the cat sat on the mat", hyp "the cat sit on a the" (3 edits either way)
    //   substitutions: the cat SAT on THE MAT / the cat SIT on A THE           -> H3 S3
    //   hits:          the cat SAT on *** the MAT / the cat SIT on A the ***   -> H4 S1 D1 I1
    const ref = w('the cat sat on the mat');
    const hyp = w('the cat sit on a the');
    expect(alignCounts(ref, hyp)).toEqual({ hits: 3, sub: 3, del: 0, ins: 0 });
    expect(alignCounts(ref, hyp, { prefer: 'hits' })).toEqual({ hits: 4, sub: 1, del: 1, ins: 1 });
  });

  it('never trades edits for hits (unlike sclite weights)', () => {
    // ref "a b c d e", hyp "d e f g h": 5 substitutions = 5 edits (unit-cost optimum).
    // sclite weights would prefer del a b c, hit d e, ins f g h: 6 edits but weight 18 < 20.
    // Both tie rules here keep the minimum of 5 edits.
    expect(alignCounts(w('a b c d e'), w('d e f g h'))).toEqual({ hits: 0, sub: 5, del: 0, ins: 0 });
    expect(alignCounts(w('a b c d e'), w('d e f g h'), { prefer: 'hits' })).toEqual({ hits: 0, sub: 5, del: 0, ins: 0 });
  });

  it('tie that even a diagonal-first greedy backtrace gets "wrong"', () => {
    // ref "a b a", hyp "b c a b"; the minimum is 3 edits, reached two ways:
    //   REF: A B a ***             REF: *** *** a b A
    //   HYP: B C a B               HYP: B   C   a b *
    //        S S   I  (H1 S2 I1)        I   I       D  (H2 D1 I2)
    // A unit-cost table walked back from (3,4) preferring the diagonal: "a"/"b" diagonal is not
    // optimal (D[2][3]+1 = 4 > 3), the deletion is (D[2][4]+1 = 3); then hits b/b, a/a, then two
    // insertions: the right-hand alignment. The exact rule (fewest del+ins) picks the left-hand one.
    const a = alignTokens(w('a b a'), w('b c a b'));
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([1, 2, 0, 1]);
    expect(alignCounts(w('a b a'), w('b c a b'))).toEqual({ hits: 1, sub: 2, del: 0, ins: 1 });
  });

  it('common prefix/suffix are hits; a repeated token deleted in the middle', () => {
    // REF: a A b   -> the second "a" is the deleted one (prefix "a" and suffix "b" are hits)
    // HYP: a * b
    const a = alignTokens(w('a a b'), w('a b'));
    expect(a.ops).toEqual([
      { op: 'ok', ref: 'a', hyp: 'a' },
      { op: 'del', ref: 'a' },
      { op: 'ok', ref: 'b', hyp: 'b' },
    ]);
  });

  it('works for non-string tokens (numbers)', () => {
    const a = alignTokens([1, 2, 3], [1, 3]);
    expect([a.hits, a.sub, a.del, a.ins]).toEqual([2, 0, 1, 0]);
  });

  it.each(['substitutions', 'hits'] as const)('matches an exhaustive search on random small inputs, and ops replay both sides (prefer %s)', (prefer) => {
    const rng = makeRng(1234);
    for (let t = 0; t < 400; t++) {
      const n = Math.floor(rng() * 6);
      const m = Math.floor(rng() * 6);
      const ref = Array.from({ length: n }, () => 'abc'[Math.floor(rng() * 3)] as string);
      const hyp = Array.from({ length: m }, () => 'abc'[Math.floor(rng() * 3)] as string);
      const expected = bruteForce(ref, hyp, prefer);
      const a = alignTokens(ref, hyp, { prefer });
      expect({ hits: a.hits, sub: a.sub, del: a.del, ins: a.ins }, `${ref} | ${hyp}`).toEqual(expected);
      expect(alignCounts(ref, hyp, { prefer })).toEqual(expected);
      const back = replay(a.ops);
      expect(back.ref).toEqual(ref);
      expect(back.hyp).toEqual(hyp);
      const counted = { hits: 0, sub: 0, del: 0, ins: 0 };
      for (const o of a.ops) counted[o.op === 'ok' ? 'hits' : o.op]++;
      expect(counted).toEqual(expected);
    }
  });

  it('is deterministic', () => {
    const ref = w('x y z x y z x');
    const hyp = w('y x z z y x');
    expect(alignTokens(ref, hyp)).toEqual(alignTokens(ref, hyp));
  });

  it('aligns 10k x 10k tokens', () => {
    const rng = makeRng(7);
    const vocab = Array.from({ length: 200 }, (_, i) => `w${i}`);
    const ref = Array.from({ length: 10_000 }, () => vocab[Math.floor(rng() * vocab.length)] as string);
    // ~10% word errors, spread over the whole sequence, so prefix/suffix trimming does not help.
    const hyp: string[] = [];
    for (const tok of ref) {
      const r = rng();
      if (r < 0.04) hyp.push(vocab[Math.floor(rng() * vocab.length)] as string);
      else if (r < 0.07) continue;
      else if (r < 0.1) hyp.push(tok, vocab[Math.floor(rng() * vocab.length)] as string);
      else hyp.push(tok);
    }
    hyp[0] = 'zzz'; // differ at both ends
    hyp[hyp.length - 1] = 'zzz';
    const a = alignLongAndCheck(`10k x ${hyp.length}`, ref, hyp);
    const errors = a.sub + a.del + a.ins;
    expect(errors).toBeGreaterThan(500);
    expect(errors).toBeLessThan(1500);
  });
});

describe('alignTokens on unrelated long sequences', () => {
  it('aligns 10k x 10k random tokens (worst case for banding) and agrees with alignCounts', () => {
    const rng = makeRng(99);
    const ref = Array.from({ length: 10_000 }, () => Math.floor(rng() * 30));
    const hyp = Array.from({ length: 9_000 }, () => Math.floor(rng() * 30));
    alignLongAndCheck('random 10k x 9k', ref, hyp);
  });
});

/**
 * Plain full-table reference: common prefix/suffix cut off, then every cell holds (edits, del+ins or sub)
 * compared lexicographically, walking back preferring diagonal, deletion, insertion.
 */
function referenceAlign<T>(ref: T[], hyp: T[], prefer: TiePreference = 'substitutions'): AlignOp<T>[] {
  let p = 0;
  while (p < ref.length && p < hyp.length && ref[p] === hyp[p]) p++;
  let s = 0;
  while (s < ref.length - p && s < hyp.length - p && ref[ref.length - 1 - s] === hyp[hyp.length - 1 - s]) s++;
  const r = ref.slice(p, ref.length - s);
  const h = hyp.slice(p, hyp.length - s);
  const n = r.length;
  const m = h.length;
  const cost: [number, number][][] = [];
  const dir: number[][] = [];
  const less = (a: [number, number], b: [number, number]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  for (let i = 0; i <= n; i++) {
    cost.push([]);
    dir.push([]);
    for (let j = 0; j <= m; j++) {
      if (i === 0 && j === 0) {
        cost[i]![j] = [0, 0];
        continue;
      }
      let best: [number, number] = [Infinity, Infinity];
      let d = -1;
      if (i > 0 && j > 0) {
        const c = cost[i - 1]![j - 1]!;
        best = r[i - 1] === h[j - 1] ? [c[0], c[1]] : [c[0] + 1, c[1] + (prefer === 'hits' ? 1 : 0)];
        d = 0;
      }
      const indel2 = prefer === 'hits' ? 0 : 1;
      if (i > 0) {
        const c = cost[i - 1]![j]!;
        const v: [number, number] = [c[0] + 1, c[1] + indel2];
        if (less(v, best)) [best, d] = [v, 1];
      }
      if (j > 0) {
        const c = cost[i]![j - 1]!;
        const v: [number, number] = [c[0] + 1, c[1] + indel2];
        if (less(v, best)) [best, d] = [v, 2];
      }
      cost[i]![j] = best;
      dir[i]![j] = d;
    }
  }
  const out: AlignOp<T>[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const d = dir[i]![j];
    if (d === 0) {
      out.push({ op: r[i - 1] === h[j - 1] ? 'ok' : 'sub', ref: r[i - 1], hyp: h[j - 1] });
      i--;
      j--;
    } else if (d === 1) out.push({ op: 'del', ref: r[--i] });
    else out.push({ op: 'ins', hyp: h[--j] });
  }
  out.reverse();
  const ok = (x: T): AlignOp<T> => ({ op: 'ok', ref: x, hyp: x });
  return [...ref.slice(0, p).map(ok), ...out, ...ref.slice(ref.length - s).map(ok)];
}

describe('banded DP equals the full table', () => {
  it('gives the same ops as a plain full-table DP on medium inputs at many error rates', () => {
    const rng = makeRng(42);
    for (let t = 0; t < 40; t++) {
      const n = 50 + Math.floor(rng() * 250);
      const errRate = [0.05, 0.2, 0.5, 1][t % 4] as number;
      const vocab = 3 + Math.floor(rng() * 20);
      const ref = Array.from({ length: n }, () => Math.floor(rng() * vocab));
      const hyp: number[] = [];
      for (const x of ref) {
        const u = rng();
        if (u >= errRate) hyp.push(x);
        else if (u < errRate / 3) hyp.push(Math.floor(rng() * vocab));
        else if (u < (2 * errRate) / 3) continue;
        else hyp.push(x, Math.floor(rng() * vocab), Math.floor(rng() * vocab));
      }
      for (const prefer of ['substitutions', 'hits'] as const) {
        const a = alignTokens(ref, hyp, { prefer });
        expect(a.ops).toEqual(referenceAlign(ref, hyp, prefer));
        expect(alignCounts(ref, hyp, { prefer })).toEqual({ hits: a.hits, sub: a.sub, del: a.del, ins: a.ins });
      }
    }
  });

  it('handles a large length difference (band must cover it)', () => {
    const rng = makeRng(5);
    const ref = Array.from({ length: 400 }, () => Math.floor(rng() * 5));
    const hyp = ref.filter(() => rng() < 0.3);
    const a = alignTokens(ref, hyp);
    expect(a.ops).toEqual(referenceAlign(ref, hyp));
    const b = alignTokens(hyp, ref);
    expect(b.ops).toEqual(referenceAlign(hyp, ref));
  });
});
