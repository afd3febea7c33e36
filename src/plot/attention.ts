/**
 * The attention alignment of one decoded utterance drawn over its features:
 *
 *   top     the normalized feature image (frames on x, feature dimensions on y, viridis),
 *   middle  each recognized character placed at its attention peak,
 *   bottom  the attention weights of each character (one row per character, labelled with it;
 *           encoder step t is drawn over frames [t*R, (t+1)*R), R = the model's time reduction),
 *   x axis  time in seconds, shared by both panels.
 *
 *   const feats = t.features(samples);
 *   const hyp = t.decode(feats, { keepAlignments: true })[0];
 *   const png = renderAttentionPlot({ features: feats, alignments: hyp.alignments, text: hyp.text,
 *     timeReduction: t.loaded.model.config.timeReduction, hopSeconds: t.loaded.features.hopMs / 1000 });
 */
import type { FeatureMatrix } from '../features/matrix.js';
import { BLUE_GREY, colorAt, Figure, formatTick, niceTicks, VIRIDIS, type Rect, type Rgb } from './canvas.js';

export interface AttentionPlotOptions {
  /** Normalized features, frames x dim (what the encoder saw). */
  features: FeatureMatrix;
  /** One row of attention weights over encoder steps per emitted character. */
  alignments: Float32Array[];
  /** The recognized text; character i labels alignment row i. */
  text: string;
  /** Feature frames per encoder step (model.config.timeReduction). */
  timeReduction: number;
  /** Seconds per feature frame (features.hopMs / 1000). */
  hopSeconds: number;
  title?: string;
}

export interface AttentionPlotLayout {
  width: number;
  height: number;
  /** The feature image: frame f, dimension d at x = features.x + f * pxPerFrame, y from the bottom. */
  features: Rect;
  /** The alignment image: row i (character i) spans y = attention.y + i * rowHeight. */
  attention: Rect;
  /** The strip between the panels where characters sit at their attention peaks. */
  charStrip: Rect;
  /** Pixels per feature frame (may be below 1 for long audio). */
  pxPerFrame: number;
  /** Pixels per feature dimension. */
  dimHeight: number;
  /** Pixels per character row. */
  rowHeight: number;
}

const MARGIN_LEFT = 74;
const MARGIN_RIGHT = 92;
const HEADER = 58;
const STRIP = 26;
const AXIS = 48;

/** Where everything goes: a function of the shapes only (tests use it to find the panels). */
export function attentionPlotLayout(opts: Pick<AttentionPlotOptions, 'features' | 'alignments'>): AttentionPlotLayout {
  const frames = Math.max(1, opts.features.frames);
  const dim = Math.max(1, opts.features.dim);
  const rows = opts.alignments.length;
  const plotW = Math.round(Math.min(1800, Math.max(560, frames * 2)));
  const dimHeight = Math.max(2, Math.min(12, Math.floor(240 / dim)));
  const rowBudget = Math.min(720, Math.max(440, 0.4 * plotW));
  const rowHeight = rows === 0 ? 0 : Math.max(1, Math.min(18, Math.floor(rowBudget / rows)));
  const featH = dimHeight * dim;
  const attH = rows === 0 ? 40 : rowHeight * rows;
  const features = { x: MARGIN_LEFT, y: HEADER, w: plotW, h: featH };
  const charStrip = { x: MARGIN_LEFT, y: HEADER + featH + 1, w: plotW, h: STRIP };
  const attention = { x: MARGIN_LEFT, y: charStrip.y + STRIP + 1, w: plotW, h: attH };
  return {
    width: MARGIN_LEFT + plotW + MARGIN_RIGHT,
    height: attention.y + attH + AXIS,
    features,
    attention,
    charStrip,
    pxPerFrame: plotW / frames,
    dimHeight,
    rowHeight,
  };
}

/** PNG bytes of the alignment plot. */
export function renderAttentionPlot(opts: AttentionPlotOptions): Buffer {
  const { features: m, alignments, text } = opts;
  const R = opts.timeReduction;
  if (!Number.isInteger(R) || R < 1) throw new RangeError(`renderAttentionPlot: timeReduction must be a positive integer, got ${R}`);
  if (!(opts.hopSeconds > 0)) throw new RangeError(`renderAttentionPlot: hopSeconds must be positive, got ${opts.hopSeconds}`);
  if (m.data.length < m.frames * m.dim) throw new RangeError(`renderAttentionPlot: feature data holds ${m.data.length} values, ${m.frames} x ${m.dim} expected`);

  const L = attentionPlotLayout(opts);
  const fig = new Figure(L.width, L.height);
  const frames = m.frames;
  const chars = Array.from(text);
  const seconds = frames * opts.hopSeconds;

  // Header: title and the recognized text.
  fig.text(opts.title ?? 'attention alignment', L.features.x, 22, { size: 15, color: '#111111' });
  const info = `${frames} frames, ${seconds.toFixed(2)} s, ${alignments.length} characters, ${R} frames per encoder step`;
  fig.text(info, L.features.x + L.features.w, 22, { size: 11, color: '#666666', align: 'right' });
  const quoted = `“${text}”`;
  fig.text(fig.fit(quoted, L.features.w, 13), L.features.x, 43, { size: 13, color: '#333333' });

  // Column c of a panel covers frames [f0, f1).
  const spans: [number, number][] = [];
  for (let c = 0; c < L.features.w; c++) {
    const f0 = Math.min(frames - 1, Math.floor((c * frames) / L.features.w));
    const f1 = Math.max(f0 + 1, Math.min(frames, Math.floor(((c + 1) * frames) / L.features.w)));
    spans.push([f0, f1]);
  }

  // Top panel: features, colour range symmetric about 0 at the 99th percentile of |x|.
  const fr = L.features;
  let vmax = 1;
  if (frames > 0 && m.dim > 0) {
    vmax = percentileAbs(m.data.subarray(0, frames * m.dim), 0.99) || 1;
    for (let c = 0; c < fr.w; c++) {
      const [f0, f1] = spans[c] as [number, number];
      for (let d = 0; d < m.dim; d++) {
        let s = 0;
        for (let f = f0; f < f1; f++) s += m.data[f * m.dim + d] as number;
        const v = s / (f1 - f0);
        const rgb = colorAt(VIRIDIS, (v + vmax) / (2 * vmax));
        // Dimension 0 at the bottom, like a spectrogram.
        fig.fill(fr.x + c, fr.y + (m.dim - 1 - d) * L.dimHeight, 1, L.dimHeight, rgb);
      }
    }
  } else {
    fig.fill(fr.x, fr.y, fr.w, fr.h, [235, 235, 235]);
    fig.text('no frames', fr.x + fr.w / 2, fr.y + fr.h / 2, { align: 'center', baseline: 'middle', color: '#888888' });
  }
  fig.frame(fr);
  featureAxis(fig, L, m.dim);
  colorbar(fig, fr, VIRIDIS, [`+${formatNum(vmax)}`, '0', `−${formatNum(vmax)}`], 'normalized value');

  // Bottom panel: attention weights, one row per character, on a common scale (0 .. the
  // largest weight) so that diffuse attention looks diffuse.
  const ar = L.attention;
  let wmax = 0;
  for (const a of alignments) for (const w of a) if (Number.isFinite(w) && w > wmax) wmax = w;
  if (wmax <= 0) wmax = 1;
  if (alignments.length > 0) {
    for (let i = 0; i < alignments.length; i++) {
      const a = alignments[i] as Float32Array;
      const y = ar.y + i * L.rowHeight;
      for (let c = 0; c < ar.w; c++) {
        const [f0, f1] = spans[c] as [number, number];
        const e0 = Math.floor(f0 / R);
        const e1 = Math.floor((f1 - 1) / R);
        let v = 0;
        for (let e = e0; e <= e1 && e < a.length; e++) {
          const w = a[e] as number;
          if (Number.isFinite(w) && w > v) v = w;
        }
        fig.fill(ar.x + c, y, 1, L.rowHeight, colorAt(BLUE_GREY, v / wmax));
      }
    }
    charLabels(fig, L, chars, alignments.length);
  } else {
    fig.fill(ar.x, ar.y, ar.w, ar.h, [235, 235, 235]);
    fig.text('no characters decoded', ar.x + ar.w / 2, ar.y + ar.h / 2, { align: 'center', baseline: 'middle', color: '#888888' });
  }
  fig.frame(ar);
  colorbar(fig, ar, BLUE_GREY, [formatNum(wmax), '0'], 'attention weight');
  fig.text('characters', 16, ar.y + ar.h / 2, { size: 12, vertical: true, align: 'center', baseline: 'middle', color: '#333333' });

  // Characters at their attention peaks (skipping any that would overlap the one before).
  charStrip(fig, L, chars, alignments, R, frames);

  // Time axis (seconds) under the attention panel, tick marks on both panels.
  const ticks = niceTicks(0, seconds, Math.max(3, Math.round(ar.w / 110)));
  const xOf = (t: number): number => ar.x + (t / opts.hopSeconds) * L.pxPerFrame;
  const tickRgb: Rgb = [60, 60, 60];
  for (const t of ticks) {
    const x = Math.round(xOf(t));
    if (x < ar.x - 1 || x > ar.x + ar.w) continue;
    fig.fill(x, ar.y + ar.h + 1, 1, 5, tickRgb);
    fig.fill(x, fr.y + fr.h + 1, 1, 4, tickRgb);
    fig.text(formatTick(t, ticks), x, ar.y + ar.h + 19, { size: 11, align: 'center', color: '#333333' });
  }
  fig.text('time (s)', ar.x + ar.w / 2, ar.y + ar.h + 40, { size: 12, align: 'center', color: '#333333' });
  return fig.png();
}

function featureAxis(fig: Figure, L: AttentionPlotLayout, dim: number): void {
  const fr = L.features;
  const yOfDim = (d: number): number => fr.y + (dim - d) * L.dimHeight; // bottom edge of dim d
  const tickRgb: Rgb = [60, 60, 60];
  if (dim === 39 || dim === 26) {
    // Static cepstra, deltas, delta-deltas: separators and group names.
    const group = dim / 3 === 13 ? 13 : dim / 2;
    const names = dim === 39 ? ['c0–12', 'Δ', 'ΔΔ'] : ['c', 'Δ'];
    for (let g = 0; g < names.length; g++) {
      const yTop = yOfDim((g + 1) * group);
      const yBot = yOfDim(g * group);
      if (g > 0) fig.fill(fr.x, yBot, fr.w, 1, [255, 255, 255], 0.55);
      fig.fill(fr.x - 6, yBot, 5, 1, tickRgb);
      fig.text(names[g] as string, fr.x - 8, (yTop + yBot) / 2, { size: 11, align: 'right', baseline: 'middle', color: '#333333' });
    }
    fig.fill(fr.x - 6, fr.y, 5, 1, tickRgb);
    fig.text(`MFCC (${dim})`, 16, fr.y + fr.h / 2, { size: 12, vertical: true, align: 'center', baseline: 'middle', color: '#333333' });
  } else {
    const ticks = niceTicks(0, dim - 1, Math.max(2, Math.round(fr.h / 40))).filter((t) => Number.isInteger(t));
    for (const t of ticks) {
      const y = yOfDim(t) - L.dimHeight / 2;
      fig.fill(fr.x - 5, Math.round(y), 4, 1, tickRgb);
      fig.text(String(t), fr.x - 8, y, { size: 11, align: 'right', baseline: 'middle', color: '#333333' });
    }
    fig.text('feature dim', 16, fr.y + fr.h / 2, { size: 12, vertical: true, align: 'center', baseline: 'middle', color: '#333333' });
  }
}

/** How a character is written as a label (space would be invisible). */
function labelOf(fig: Figure, c: string | undefined): string {
  if (c === undefined) return '?';
  if (c === ' ') return fig.hasGlyph('␣') ? '␣' : '_';
  return c;
}

function charLabels(fig: Figure, L: AttentionPlotLayout, chars: string[], rows: number): void {
  const ar = L.attention;
  const h = L.rowHeight;
  // Rows of 11 px or more: one label column. 5-10 px: two staggered columns. Less: every k-th row.
  const stagger = h < 11 && h >= 5;
  const every = h >= 5 ? 1 : Math.ceil(10 / h);
  const size = Math.max(8, Math.min(13, stagger ? 2 * h - 2 : h >= 11 ? h - 1 : 10));
  for (let i = 0; i < rows; i += every) {
    const y = ar.y + i * h + h / 2;
    const x = stagger && i % 2 === 1 ? ar.x - 18 : ar.x - 6;
    fig.text(labelOf(fig, chars[i]), x, y, { size, align: 'right', baseline: 'middle', color: '#222222' });
  }
}

function charStrip(fig: Figure, L: AttentionPlotLayout, chars: string[], alignments: Float32Array[], R: number, frames: number): void {
  const s = L.charStrip;
  let lastRight = -Infinity;
  const tickRgb: Rgb = [150, 150, 150];
  for (let i = 0; i < alignments.length; i++) {
    const a = alignments[i] as Float32Array;
    let best = -1;
    let bestW = -Infinity;
    for (let e = 0; e < a.length; e++) {
      const w = a[e] as number;
      if (Number.isFinite(w) && w > bestW) {
        bestW = w;
        best = e;
      }
    }
    if (best < 0) continue;
    const frame = Math.min(frames, best * R + R / 2);
    const x = s.x + frame * L.pxPerFrame;
    const label = labelOf(fig, chars[i]);
    const w = Math.max(6, fig.textWidth(label, 13));
    fig.fill(Math.round(x), s.y, 1, 4, tickRgb);
    if (x - w / 2 < lastRight + 1) continue;
    fig.text(label, x, s.y + s.h / 2 + 3, { size: 13, align: 'center', baseline: 'middle', color: '#111111' });
    lastRight = x + w / 2;
  }
}

function colorbar(fig: Figure, r: Rect, map: Uint8Array, labels: string[], title: string): void {
  const x = r.x + r.w + 12;
  const w = 12;
  const h = Math.max(10, r.h);
  for (let yy = 0; yy < h; yy++) fig.fill(x, r.y + yy, w, 1, colorAt(map, 1 - yy / Math.max(1, h - 1)));
  fig.frame({ x, y: r.y, w, h });
  labels.forEach((lab, k) => {
    const y = r.y + (labels.length === 1 ? 0 : (k / (labels.length - 1)) * (h - 1));
    fig.fill(x + w + 1, Math.round(y), 3, 1, [60, 60, 60]);
    fig.text(lab, x + w + 6, y, { size: 10, baseline: 'middle', color: '#333333' });
  });
  if (h >= 60) fig.text(title, x + w + 44, r.y + h / 2, { size: 10, vertical: true, align: 'center', baseline: 'middle', color: '#666666' });
}

function percentileAbs(data: Float32Array, q: number): number {
  // A sample of at most 20000 values is plenty for a colour range.
  const n = data.length;
  const stride = Math.max(1, Math.floor(n / 20000));
  const vals: number[] = [];
  for (let i = 0; i < n; i += stride) {
    const v = Math.abs(data[i] as number);
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length === 0) return 0;
  vals.sort((a, b) => a - b);
  return vals[Math.min(vals.length - 1, Math.floor(q * (vals.length - 1)))] as number;
}

function formatNum(v: number): string {
  return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2);
}
