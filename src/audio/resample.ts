/**
 * Channel mixdown and band-limited sample-rate conversion.
 *
 * The resampler is a windowed-sinc interpolator (Kaiser window). Output sample k sits at
 * input time t = k * fromRate / toRate (sample 0 on sample 0, no delay) and is
 * sum_j x[j] * h(t - j), with h a low-pass whose band edges are fractions of the lower
 * of the two Nyquist frequencies:
 *
 *   passband up to 0.90 * Nyquist (ripple ~1e-4 dB), stop band from 1.00 * Nyquist,
 *   so nothing at or above the new Nyquist folds back (>= 80 dB down), and the 0.9-1.0
 *   transition band lies below Nyquist where it cannot alias.
 *
 * Kaiser's formula sizes the kernel: about 100 multiply-adds per sample at the higher of
 * the two rates, whatever the ratio, so 60 s of 44.1 kHz audio costs ~2.6e8.
 *
 * Two evaluation strategies, both over a table of kernel rows ("phases"):
 * - integer rates whose reduced ratio L/M (to/from divided by their gcd) gives a table of
 *   modest size: t only takes L distinct fractional positions, so the rows are the exact
 *   L-phase polyphase decomposition and each output is one dot product;
 * - anything else (non-integer rates, or a huge L, e.g. 44100 -> 16001): up to 512 rows
 *   per input sample, and each output blends the two rows around its exact position
 *   (linear interpolation of the kernel; twice the work, same quality in practice).
 * Tables are cached per ratio.
 * Samples outside the input are taken as zero.
 */

/** Stop-band attenuation the Kaiser window is designed for, in dB. */
const ATTENUATION_DB = 80;
/** Band edges as fractions of the lower Nyquist frequency. */
const PASSBAND_EDGE = 0.9;
const STOPBAND_EDGE = 1.0;

/**
 * Average the channels into one. Always returns a new array. All channels must have the
 * same length.
 */
export function mixToMono(channels: Float32Array[]): Float32Array {
  const first = channels[0];
  if (!first) throw new RangeError('mixToMono: no channels');
  const n = first.length;
  if (channels.some((c) => c.length !== n)) throw new RangeError('mixToMono: channels differ in length');
  if (channels.length === 1) return first.slice();
  // Sum in float64 and scale once: a single rounding to float32 per output sample.
  const sum = new Float64Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) sum[i] = (sum[i] as number) + (ch[i] as number);
  const scale = 1 / channels.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (sum[i] as number) * scale;
  return out;
}

/**
 * Resample `x` from `fromRate` to `toRate` (Hz; any positive values, integer or not).
 * The result has Math.round(x.length * toRate / fromRate) samples; with equal rates it is
 * a copy of `x`.
 */
export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  for (const [name, rate] of [
    ['fromRate', fromRate],
    ['toRate', toRate],
  ] as const) {
    if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`resample: ${name} must be a positive number, got ${rate}`);
  }
  if (fromRate === toRate) return x.slice();
  const outLength = Math.round((x.length * toRate) / fromRate);
  if (outLength === 0 || x.length === 0) return new Float32Array(outLength);

  if (Number.isInteger(fromRate) && Number.isInteger(toRate)) {
    const g = gcd(fromRate, toRate);
    const out = resamplePolyphase(x, toRate / g, fromRate / g, outLength);
    if (out) return out;
  }
  return resampleInterpolated(x, fromRate, toRate, outLength);
}

// ---- filter design ---------------------------------------------------------------------

interface KernelDesign {
  /** Half the kernel length, in input samples: h(t) = 0 for |t| >= halfWidth. */
  halfWidth: number;
  /** Cut-off (middle of the transition band), in cycles per input sample. */
  cutoff: number;
  /** Kaiser window shape parameter. */
  beta: number;
}

function design(fromRate: number, toRate: number): KernelDesign {
  const nyquist = Math.min(fromRate, toRate) / 2;
  const cutoff = (((PASSBAND_EDGE + STOPBAND_EDGE) / 2) * nyquist) / fromRate;
  const transition = (2 * Math.PI * (STOPBAND_EDGE - PASSBAND_EDGE) * nyquist) / fromRate; // rad/sample
  const order = (ATTENUATION_DB - 7.95) / (2.285 * transition); // Kaiser's estimate
  const beta = 0.1102 * (ATTENUATION_DB - 8.7); // Kaiser's beta for attenuation > 50 dB
  return { halfWidth: Math.ceil(order / 2), cutoff, beta };
}

/** Modified Bessel function of the first kind, order 0 (power series; fine for beta < 30). */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-16; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

/** The continuous kernel: a Kaiser-windowed ideal low-pass with unit DC gain. */
function makeKernel({ halfWidth, cutoff, beta }: KernelDesign): (t: number) => number {
  const norm = 1 / besselI0(beta);
  return (t) => {
    const r = t / halfWidth;
    if (r <= -1 || r >= 1) return 0;
    const window = besselI0(beta * Math.sqrt(1 - r * r)) * norm;
    const a = 2 * Math.PI * cutoff * t;
    const sinc = a === 0 ? 1 : Math.sin(a) / a;
    return 2 * cutoff * sinc * window;
  };
}

// ---- phase tables ----------------------------------------------------------------------

/**
 * The kernel sampled at the tap positions for `phases` evenly spaced fractional input
 * times: row p (0 <= p <= phases) weights x[i0 - halfWidth + 1 + j], j < taps, for an
 * output at input time i0 + p / phases. Each row is scaled to sum to exactly 1, so DC
 * passes at unit gain whatever the phase (no phase-dependent gain ripple, which would
 * add faint images), and so does any blend of two neighbouring rows.
 */
interface PhaseTable {
  phases: number;
  halfWidth: number;
  taps: number;
  rows: Float64Array;
}

/** Largest phase table (rows x taps) kept; beyond it the general path uses fewer rows. */
const MAX_TABLE_ENTRIES = 1 << 19;
/** Rows per input sample for the general path (linear interpolation between rows). */
const MAX_INTERPOLATED_PHASES = 512;
const MIN_INTERPOLATED_PHASES = 32;
/** How many tables stay cached (a corpus usually has one or two input rates). */
const CACHE_SIZE = 8;

const tableCache = new Map<string, PhaseTable>();

function phaseTable(key: string, d: KernelDesign, phases: number): PhaseTable {
  const cached = tableCache.get(key);
  if (cached) return cached;
  const kernel = makeKernel(d);
  const taps = 2 * d.halfWidth;
  const rows = new Float64Array((phases + 1) * taps);
  for (let p = 0; p <= phases; p++) {
    const frac = p / phases;
    const row = p * taps;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const w = kernel(frac + d.halfWidth - 1 - j);
      rows[row + j] = w;
      sum += w;
    }
    for (let j = 0; j < taps; j++) rows[row + j] = (rows[row + j] as number) / sum;
  }
  const table = { phases, halfWidth: d.halfWidth, taps, rows };
  if (tableCache.size >= CACHE_SIZE) tableCache.delete(tableCache.keys().next().value as string);
  tableCache.set(key, table);
  return table;
}

/**
 * sum_j w[row + j] * x[start + j] over j < taps, treating x outside its bounds as zero.
 * Eight accumulators break the floating-point add dependency chain, which roughly halves
 * the time of this, the resampler's only hot loop.
 */
function dot(w: Float64Array, row: number, x: Float32Array, start: number, taps: number): number {
  const lo = start < 0 ? -start : 0;
  const hi = Math.min(taps, x.length - start);
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  let r = row + lo;
  let s = start + lo;
  let j = lo;
  for (; j + 7 < hi; j += 8, r += 8, s += 8) {
    a0 += (w[r] as number) * (x[s] as number);
    a1 += (w[r + 1] as number) * (x[s + 1] as number);
    a2 += (w[r + 2] as number) * (x[s + 2] as number);
    a3 += (w[r + 3] as number) * (x[s + 3] as number);
    a4 += (w[r + 4] as number) * (x[s + 4] as number);
    a5 += (w[r + 5] as number) * (x[s + 5] as number);
    a6 += (w[r + 6] as number) * (x[s + 6] as number);
    a7 += (w[r + 7] as number) * (x[s + 7] as number);
  }
  for (; j < hi; j++, r++, s++) a0 += (w[r] as number) * (x[s] as number);
  return a0 + a1 + (a2 + a3) + (a4 + a5 + (a6 + a7));
}

// ---- polyphase path (integer rates, modest reduced ratio) --------------------------------

/** Resample with the exact L-phase table for rate ratio up/down (reduced), or null if too big. */
function resamplePolyphase(x: Float32Array, up: number, down: number, outLength: number): Float32Array | null {
  const d = design(down, up); // only the ratio matters to the design
  if ((up + 1) * 2 * d.halfWidth > MAX_TABLE_ENTRIES) return null;
  const { halfWidth, taps, rows } = phaseTable(`${up}/${down}`, d, up);
  const out = new Float32Array(outLength);
  const whole = Math.floor(down / up);
  const rem = down % up;
  // Output k sits at input time i0 + p / up, i0 = floor(k * down / up), p = k * down mod up;
  // both advance in integers, so there is no drift.
  let i0 = 0;
  let p = 0;
  for (let k = 0; k < outLength; k++) {
    out[k] = dot(rows, p * taps, x, i0 - halfWidth + 1, taps);
    i0 += whole;
    p += rem;
    if (p >= up) {
      p -= up;
      i0++;
    }
  }
  return out;
}

// ---- general path (any ratio) ----------------------------------------------------------

/**
 * Resample through a table of finely spaced phases, blending the two rows around each
 * output's exact fractional position (linear interpolation of the kernel). About twice
 * the work of the polyphase path.
 */
function resampleInterpolated(x: Float32Array, fromRate: number, toRate: number, outLength: number): Float32Array {
  const d = design(fromRate, toRate);
  const taps = 2 * d.halfWidth;
  // Long kernels (strong downsampling) are smooth at the tap scale and need fewer rows.
  let phases = MAX_INTERPOLATED_PHASES;
  while (phases > MIN_INTERPOLATED_PHASES && (phases + 1) * taps > MAX_TABLE_ENTRIES) phases /= 2;
  const { halfWidth, rows } = phaseTable(`~${fromRate / toRate}`, d, phases);
  const out = new Float32Array(outLength);
  const step = fromRate / toRate;
  for (let k = 0; k < outLength; k++) {
    const t = k * step; // recomputed, not accumulated, so there is no drift
    const i0 = Math.floor(t);
    const pos = (t - i0) * phases;
    const p = Math.min(Math.floor(pos), phases - 1);
    const f = pos - p;
    const start = i0 - halfWidth + 1;
    const a = dot(rows, p * taps, x, start, taps);
    const b = dot(rows, (p + 1) * taps, x, start, taps);
    out[k] = a + (b - a) * f;
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
