/**
 * Levenshtein alignment of a reference and a hypothesis token sequence, as used for WER and CER.
 *
 * Costs are the unit costs of Kaldi's compute-wer and jiwer: a hit costs 0, a substitution,
 * deletion or insertion 1 each, so `sub + del + ins` is always the true edit distance.
 * (sclite by default weighs sub 4, ins 3, del 3; that can pick an alignment with more edits, so its
 * WER can be slightly higher than ours on the same pair.)
 *
 * Tie-breaking, fully deterministic:
 * 1. Among all alignments with the minimum number of edits, the split between error types is
 *    chosen by `options.prefer` (for a fixed edit count, more substitutions means fewer hits,
 *    deletions and insertions, and vice versa):
 *    - `'substitutions'` (default): fewest deletions + insertions, i.e. the most substitutions.
 *      Ref `a b`, hyp `b c` gives 2 substitutions.
 *    - `'hits'`: the most hits, i.e. the fewest substitutions. Ref `a b`, hyp `b c` gives deletion
 *      `a`, hit `b`, insertion `c`. This is the split sclite's conventional weights (sub 4,
 *      ins 3, del 3) choose whenever their alignment has the minimum number of edits, and what a
 *      reader usually finds natural in a displayed alignment.
 *    Either way a substitution is always preferred to a deletion + insertion of the same two
 *    tokens (1 edit instead of 2). The choice is solved exactly, as a lexicographic minimum (edits,
 *    then the secondary count), not by a greedy backtrace, so the counts do not depend on the
 *    order in which the table is walked.
 * 2. Where that still leaves a choice of *where* the edits go (which affects `ops`, never the
 *    counts): tokens of the longest common prefix and suffix are always hits; in the part between,
 *    walking back from the end, a diagonal step (hit/substitution) is preferred to a deletion, and a
 *    deletion to an insertion.
 *
 * Cost: O(n*m) time in the worst case, O((n + m) * e) when the sequences are e edits apart
 * (banded DP, see `solve`), after cutting off the common prefix and suffix. {@link alignCounts}
 * needs O(m) memory; {@link alignTokens} also stores 2 bits per band cell for the backtrace
 * (at most 25 MB for 10k x 10k tokens).
 */

export type AlignOpKind = 'ok' | 'sub' | 'del' | 'ins';

/**
 * One column of an alignment. `ok`: `ref` and `hyp` equal; `sub`: both present and different;
 * `del`: only `ref` (a reference token missing from the hypothesis); `ins`: only `hyp`.
 */
export interface AlignOp<T = string> {
  op: AlignOpKind;
  ref?: T;
  hyp?: T;
}

export interface AlignCounts {
  hits: number;
  sub: number;
  del: number;
  ins: number;
}

/** How ties between equally short alignments are split; see the module comment. */
export type TiePreference = 'substitutions' | 'hits';

export interface AlignOptions {
  /** Default `'substitutions'`. */
  prefer?: TiePreference;
}

export interface Alignment<T = string> extends AlignCounts {
  /** Columns in order; `hits + sub + del === ref.length`, `hits + sub + ins === hyp.length`. */
  ops: AlignOp<T>[];
}

/** Refuse backtrace tables larger than this many cells (1 GiB at 2 bits a cell). */
const MAX_BACKTRACE_CELLS = 4 * 1024 ** 3;

/** Map tokens to small integers (by SameValueZero, like `===`), so the inner loop compares ints. */
function intern<T>(ref: readonly T[], hyp: readonly T[]): { r: Int32Array; h: Int32Array } {
  const ids = new Map<T, number>();
  const toIds = (xs: readonly T[]): Int32Array => {
    const out = new Int32Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] as T;
      let id = ids.get(x);
      if (id === undefined) {
        id = ids.size;
        ids.set(x, id);
      }
      out[i] = id;
    }
    return out;
  };
  return { r: toIds(ref), h: toIds(hyp) };
}

interface Trimmed {
  r: Int32Array;
  h: Int32Array;
  /** Length of the common prefix and suffix that were cut off. */
  prefix: number;
  suffix: number;
}

function trim<T>(ref: readonly T[], hyp: readonly T[]): Trimmed {
  const { r, h } = intern(ref, hyp);
  const n = r.length;
  const m = h.length;
  let prefix = 0;
  while (prefix < n && prefix < m && r[prefix] === h[prefix]) prefix++;
  let suffix = 0;
  while (suffix < n - prefix && suffix < m - prefix && r[n - 1 - suffix] === h[m - 1 - suffix]) suffix++;
  return { r: r.subarray(prefix, n - suffix), h: h.subarray(prefix, m - suffix), prefix, suffix };
}

/**
 * Combined integer costs. With W larger than any possible count of the secondary quantity:
 * - prefer substitutions: hit 0, sub W, del/ins W + 1 -> cost = edits * W + (del + ins);
 * - prefer hits:          hit 0, sub W + 1, del/ins W -> cost = edits * W + sub.
 * Minimizing the sum minimizes (edits, secondary) lexicographically, and the optimum decodes back
 * into counts. Values stay exact in float64 up to 2^53 (tens of millions of tokens).
 */
interface Costs {
  w: number;
  sub: number;
  indel: number;
  prefer: TiePreference;
}

function costsFor(n: number, m: number, prefer: TiePreference): Costs {
  const w = n + m + 1;
  return prefer === 'hits' ? { w, sub: w + 1, indel: w, prefer } : { w, sub: w, indel: w + 1, prefer };
}

function countsFromCost(cost: number, n: number, m: number, costs: Costs, hitsOutside: number): AlignCounts {
  const edits = Math.floor(cost / costs.w);
  const secondary = cost - edits * costs.w;
  const indels = costs.prefer === 'hits' ? edits - secondary : secondary;
  const del = (indels + n - m) / 2;
  const ins = (indels - n + m) / 2;
  const sub = edits - indels;
  const hits = n - sub - del;
  return { hits: hits + hitsOutside, sub, del, ins };
}

const DIAG = 0;
const UP = 1; // deletion: consume a reference token
const LEFT = 2; // insertion: consume a hypothesis token

/**
 * Diagonal band (d = i - j) that holds every alignment path with at most k edits: a path through
 * cell (i, j) needs at least |d| indels before it and |(n - m) - d| after it.
 */
interface Band {
  dlo: number;
  dhi: number;
}

function bandFor(n: number, m: number, k: number): Band {
  const delta = n - m;
  return { dlo: Math.max(-m, Math.ceil((delta - k) / 2)), dhi: Math.min(n, Math.floor((delta + k) / 2)) };
}

/**
 * The DP restricted to a band (n, m >= 1). Returns the combined cost at (n, m) (Infinity-free:
 * the band always holds a path). When `dirs` is given, the direction of every band cell is stored
 * at 2 bits, row i (1-based) at offset (i - 1) * width + (j - i + dhi).
 */
function runBand(r: Int32Array, h: Int32Array, costs: Costs, band: Band, dirs: Uint8Array | null): number {
  const n = r.length;
  const m = h.length;
  const { dlo, dhi } = band;
  const width = dhi - dlo + 1;
  const subCost = costs.sub;
  const w1 = costs.indel;
  let prev = new Float64Array(m + 2).fill(Infinity);
  let cur = new Float64Array(m + 2).fill(Infinity);
  const j0hi = Math.min(m, -dlo);
  for (let j = 0; j <= j0hi; j++) prev[j] = j * w1;
  for (let i = 1; i <= n; i++) {
    const a = r[i - 1];
    const jlo = Math.max(1, i - dhi);
    const jhi = Math.min(m, i - dlo);
    cur[jlo - 1] = jlo === 1 && i <= dhi ? i * w1 : Infinity;
    const rowBase = (i - 1) * width + dhi - i;
    let left = cur[jlo - 1] as number;
    let diag = prev[jlo - 1] as number;
    for (let j = jlo; j <= jhi; j++) {
      const up = prev[j] as number;
      // Preference on equal cost: diagonal, then deletion, then insertion (strict < below).
      let best = diag + (a === h[j - 1] ? 0 : subCost);
      let d = DIAG;
      if (up + w1 < best) {
        best = up + w1;
        d = UP;
      }
      if (left + w1 < best) {
        best = left + w1;
        d = LEFT;
      }
      cur[j] = best;
      if (d !== DIAG && dirs !== null) {
        const idx = rowBase + j;
        dirs[idx >>> 2] = (dirs[idx >>> 2] as number) | (d << ((idx & 3) << 1));
      }
      left = best;
      diag = up;
    }
    cur[jhi + 1] = Infinity;
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[m] as number;
}

/** First band: wide enough for the length difference plus a margin; widened if it was too narrow. */
const INITIAL_BAND_EDITS = 64;

/**
 * Solve with Ukkonen-style banding: run the DP in the band for k edits; if the best path found
 * there has more than k edits, the optimum may lie outside, so widen to min(4k, edits found) (the
 * edits found are always an upper bound on the optimum; past half the table, to the full table)
 * and retry. Worst case (unrelated sequences) about 1.5x one full pass. Inside a band that holds every
 * optimal path, costs and tie choices along the backtrace equal those of the full table, so the
 * result is identical to the unbanded DP, just faster when the sequences are close.
 */
function solve(
  r: Int32Array,
  h: Int32Array,
  costs: Costs,
  withDirs: boolean,
): { cost: number; band: Band; dirs: Uint8Array | null } {
  const n = r.length;
  const m = h.length;
  let k = Math.max(Math.abs(n - m), INITIAL_BAND_EDITS);
  for (;;) {
    const band = bandFor(n, m, k);
    const full = band.dlo === -m && band.dhi === n;
    const width = band.dhi - band.dlo + 1;
    let dirs: Uint8Array | null = null;
    if (withDirs) {
      const cells = n * width;
      if (cells > MAX_BACKTRACE_CELLS) {
        throw new RangeError(
          `alignTokens: ${n} x ${m} tokens is too large to align with a backtrace; use alignCounts for counts only`,
        );
      }
      dirs = new Uint8Array(Math.ceil(cells / 4));
    }
    const cost = runBand(r, h, costs, band, dirs);
    const edits = Math.floor(cost / costs.w);
    if (full || edits <= k) return { cost, band, dirs };
    k = Math.min(4 * k, edits);
    // Once the band would cover most of the table, one full pass is cheaper than more retries.
    if (2 * k >= n + m) k = n + m;
  }
}

/**
 * Error counts of the optimal alignment (same tie rule as {@link alignTokens}) without building
 * the operation list: O(m) memory.
 */
export function alignCounts<T>(ref: readonly T[], hyp: readonly T[], options: AlignOptions = {}): AlignCounts {
  const { r, h, prefix, suffix } = trim(ref, hyp);
  const n = r.length;
  const m = h.length;
  if (n === 0 || m === 0) return { hits: prefix + suffix, sub: 0, del: n, ins: m };
  const costs = costsFor(n, m, options.prefer ?? 'substitutions');
  const { cost } = solve(r, h, costs, false);
  return countsFromCost(cost, n, m, costs, prefix + suffix);
}

/**
 * Align `ref` and `hyp` (tokens compared with SameValueZero, i.e. `===`) and return the counts
 * and the column-by-column operations. See the module comment for costs and tie-breaking.
 */
export function alignTokens<T>(ref: readonly T[], hyp: readonly T[], options: AlignOptions = {}): Alignment<T> {
  const { r, h, prefix, suffix } = trim(ref, hyp);
  const n = r.length;
  const m = h.length;
  let dirs: Uint8Array | null = null;
  let width = 0;
  let dhi = 0;
  if (n > 0 && m > 0) {
    const solved = solve(r, h, costsFor(n, m, options.prefer ?? 'substitutions'), true);
    dirs = solved.dirs;
    width = solved.band.dhi - solved.band.dlo + 1;
    dhi = solved.band.dhi;
  }

  // Backtrace from (n, m), collecting ops in reverse.
  const middle: AlignOp<T>[] = [];
  let hits = 0;
  let sub = 0;
  let del = 0;
  let ins = 0;
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    let d: number;
    if (i === 0) d = LEFT;
    else if (j === 0) d = UP;
    else {
      const idx = (i - 1) * width + (j - i + dhi);
      d = (((dirs as Uint8Array)[idx >>> 2] as number) >>> ((idx & 3) << 1)) & 3;
    }
    if (d === DIAG) {
      const rt = ref[prefix + i - 1] as T;
      const ht = hyp[prefix + j - 1] as T;
      if (r[i - 1] === h[j - 1]) {
        middle.push({ op: 'ok', ref: rt, hyp: ht });
        hits++;
      } else {
        middle.push({ op: 'sub', ref: rt, hyp: ht });
        sub++;
      }
      i--;
      j--;
    } else if (d === UP) {
      middle.push({ op: 'del', ref: ref[prefix + i - 1] as T });
      del++;
      i--;
    } else {
      middle.push({ op: 'ins', hyp: hyp[prefix + j - 1] as T });
      ins++;
      j--;
    }
  }

  const ops: AlignOp<T>[] = new Array(prefix + middle.length + suffix);
  let k = 0;
  for (let p = 0; p < prefix; p++) ops[k++] = { op: 'ok', ref: ref[p] as T, hyp: hyp[p] as T };
  for (let p = middle.length - 1; p >= 0; p--) ops[k++] = middle[p] as AlignOp<T>;
  for (let p = 0; p < suffix; p++) {
    ops[k++] = { op: 'ok', ref: ref[ref.length - suffix + p] as T, hyp: hyp[hyp.length - suffix + p] as T };
  }
  return { hits: hits + prefix + suffix, sub, del, ins, ops };
}
