/**
 * A small drawing surface for koe's plots: pureimage (a pure-JS canvas, no native code) for
 * anti-aliased lines and TrueType text, direct pixel writes for heat maps and filled
 * rectangles (fast), and pngjs for the PNG bytes.
 *
 * Text needs a TrueType font, and koe ships none: the first that loads of $KOE_PLOT_FONT and the
 * usual system locations (DejaVu Sans: Debian/Ubuntu package `fonts-dejavu-core`) is used. With
 * no font, plots are still drawn, without their text.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import * as PImage from 'pureimage';

export type Rgb = readonly [number, number, number];

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

// ---------------------------------------------------------------------------------------------
// Fonts

const FAMILY = 'koe-plot';

/** Where a sans-serif TrueType font usually lives (first found wins). */
export function fontCandidates(): string[] {
  const win = process.env.WINDIR ?? process.env.windir ?? 'C:\\Windows';
  return [
    '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', // Debian, Ubuntu: fonts-dejavu-core
    '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf', // Fedora
    '/usr/share/fonts/dejavu/DejaVuSans.ttf', // older Fedora, CentOS, Alpine (font-dejavu)
    '/usr/share/fonts/TTF/DejaVuSans.ttf', // Arch (ttf-dejavu)
    '/usr/local/share/fonts/dejavu/DejaVuSans.ttf', // FreeBSD
    '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
    '/usr/share/fonts/truetype/freefont/FreeSans.ttf',
    '/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf',
    '/usr/share/fonts/noto/NotoSans-Regular.ttf',
    '/System/Library/Fonts/Supplemental/Arial.ttf', // macOS
    '/Library/Fonts/Arial.ttf',
    path.join(win, 'Fonts', 'arial.ttf'),
    path.join(win, 'Fonts', 'segoeui.ttf'),
  ];
}

interface LoadedFont {
  file: string;
  /** opentype.js font object (pureimage bundles opentype.js 0.4). */
  font: { charToGlyphIndex?: (c: string) => number } | null;
}

let fontState: { loaded: LoadedFont | null } | undefined;

/**
 * Choose the plot font: a TrueType file (throws if it cannot be loaded), null for no text, or
 * undefined for the default search ($KOE_PLOT_FONT, where 'none' or '' turns text off, then
 * {@link fontCandidates}).
 */
export function setPlotFont(file: string | null | undefined): void {
  if (file === undefined) {
    fontState = undefined;
    return;
  }
  const loaded = file === null ? null : tryLoadFont(file);
  if (file !== null && !loaded) throw new Error(`cannot load the font ${file}`);
  fontState = { loaded };
}

/** The font file text is drawn with, or null when plots are drawn without text. */
export function plotFontFile(): string | null {
  return currentFont()?.file ?? null;
}

function currentFont(): LoadedFont | null {
  if (fontState) return fontState.loaded;
  let loaded: LoadedFont | null = null;
  const env = process.env.KOE_PLOT_FONT;
  if (env !== undefined && (env.trim() === '' || env.trim().toLowerCase() === 'none')) loaded = null;
  else if (env !== undefined) loaded = tryLoadFont(env);
  else {
    for (const file of fontCandidates()) {
      if (!existsSync(file)) continue;
      loaded = tryLoadFont(file);
      if (loaded) break;
    }
  }
  fontState = { loaded };
  return loaded;
}

function tryLoadFont(file: string): LoadedFont | null {
  if (!existsSync(file)) return null;
  try {
    const reg = PImage.registerFont(file, FAMILY);
    reg.loadSync();
    return { file, font: reg.font as LoadedFont['font'] };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Colour maps

function lut(stops: readonly string[]): Uint8Array {
  const rgb = stops.map(parseHex);
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const pos = (i / 255) * (rgb.length - 1);
    const k = Math.min(rgb.length - 2, Math.floor(pos));
    const f = pos - k;
    const a = rgb[k] as Rgb;
    const b = rgb[k + 1] as Rgb;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((a[c] as number) * (1 - f) + (b[c] as number) * f);
  }
  return out;
}

/** matplotlib's viridis, sampled at 11 points. */
export const VIRIDIS = lut(['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725']);
/** Near-black navy through blue to white: high attention is bright. */
export const BLUE_GREY = lut(['#0a0e1a', '#17264a', '#1f4e8c', '#3d85c6', '#9cc6ee', '#ffffff']);

/** Colour of v in [0, 1] (clamped; NaN is the bottom colour) from a 256-entry map. */
export function colorAt(map: Uint8Array, v: number): Rgb {
  const i = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v * 255))) : 0;
  return [map[i * 3] as number, map[i * 3 + 1] as number, map[i * 3 + 2] as number];
}

export function parseHex(hex: string): Rgb {
  const h = hex.replace('#', '');
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

// ---------------------------------------------------------------------------------------------
// Axes

/** About `target` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const step = niceStep((hi - lo) / Math.max(1, target));
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9) * step;
  for (let v = first; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10) * mag;
}

/** A tick label with as many decimals as the tick spacing needs. */
export function formatTick(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs((ticks[1] as number) - (ticks[0] as number)) : Math.abs(v) || 1;
  let decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  if (Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
  return v.toFixed(Math.min(6, decimals));
}

// ---------------------------------------------------------------------------------------------
// Drawing surface

export type Align = 'left' | 'center' | 'right';
export type Baseline = 'top' | 'middle' | 'alphabetic' | 'bottom';

export interface TextStyle {
  size?: number;
  color?: string;
  align?: Align;
  baseline?: Baseline;
  /** Rotate 90 degrees counter-clockwise (reads bottom to top), about (x, y). */
  vertical?: boolean;
}

export class Figure {
  readonly bitmap: PImage.Bitmap;
  readonly ctx: PImage.Context;
  private readonly font: LoadedFont | null;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.width = Math.max(1, Math.round(width));
    this.height = Math.max(1, Math.round(height));
    this.bitmap = PImage.make(this.width, this.height);
    this.ctx = this.bitmap.getContext('2d');
    this.font = currentFont();
    this.fill(0, 0, this.width, this.height, background);
  }

  /** Whether text is drawn (a font was found). */
  get hasText(): boolean {
    return this.font !== null;
  }

  /** Fill a pixel-aligned rectangle, blending with `alpha`. */
  fill(x: number, y: number, w: number, h: number, rgb: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    const d = this.bitmap.data;
    const a = Math.max(0, Math.min(1, alpha));
    for (let yy = y0; yy < y1; yy++) {
      let i = (yy * this.width + x0) * 4;
      for (let xx = x0; xx < x1; xx++, i += 4) {
        if (a >= 1) {
          d[i] = rgb[0];
          d[i + 1] = rgb[1];
          d[i + 2] = rgb[2];
        } else {
          d[i] = Math.round((d[i] as number) * (1 - a) + rgb[0] * a);
          d[i + 1] = Math.round((d[i + 1] as number) * (1 - a) + rgb[1] * a);
          d[i + 2] = Math.round((d[i + 2] as number) * (1 - a) + rgb[2] * a);
        }
        d[i + 3] = 255;
      }
    }
  }

  setPixel(x: number, y: number, rgb: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    const d = this.bitmap.data;
    d[i] = rgb[0];
    d[i + 1] = rgb[1];
    d[i + 2] = rgb[2];
    d[i + 3] = 255;
  }

  /** A one-pixel rectangle outline just outside `r`. */
  frame(r: Rect, rgb: Rgb = [60, 60, 60]): void {
    this.fill(r.x - 1, r.y - 1, r.w + 2, 1, rgb);
    this.fill(r.x - 1, r.y + r.h, r.w + 2, 1, rgb);
    this.fill(r.x - 1, r.y - 1, 1, r.h + 2, rgb);
    this.fill(r.x + r.w, r.y - 1, 1, r.h + 2, rgb);
  }

  /** A dotted vertical line (every other pixel). */
  dottedV(x: number, y0: number, y1: number, rgb: Rgb, alpha = 1): void {
    for (let y = Math.round(y0); y < Math.round(y1); y += 3) this.fill(x, y, 1, 2, rgb, alpha);
  }

  /** An anti-aliased polyline; points closer than a tenth of a pixel are merged. */
  polyline(points: ReadonlyArray<readonly [number, number]>, color: string, width = 1.5, alpha = 1): void {
    const pts: [number, number][] = [];
    for (const [x, y] of points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const last = pts[pts.length - 1];
      if (last && Math.abs(last[0] - x) < 0.1 && Math.abs(last[1] - y) < 0.1) continue;
      pts.push([x, y]);
    }
    if (pts.length < 2) return;
    const ctx = this.ctx;
    ctx.save();
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo((pts[0] as [number, number])[0], (pts[0] as [number, number])[1]);
    for (let i = 1; i < pts.length; i++) ctx.lineTo((pts[i] as [number, number])[0], (pts[i] as [number, number])[1]);
    ctx.stroke();
    ctx.restore();
  }

  /** A filled circle marker. */
  dot(x: number, y: number, radius: number, color: string): void {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const ctx = this.ctx;
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, Math.PI * 2);
    ctx.closePath();
    ctx.fill();
  }

  /** Approximate width of `s` at `size` px (exact with a font). */
  textWidth(s: string, size = 12): number {
    if (!this.font) return s.length * size * 0.55;
    const ctx = this.ctx;
    ctx.font = `${size}px ${FAMILY}`;
    return PImage.measureText(ctx, s).width;
  }

  /** Whether the font has a glyph for `c` (false without a font). */
  hasGlyph(c: string): boolean {
    const f = this.font?.font;
    if (!f || typeof f.charToGlyphIndex !== 'function') return false;
    try {
      return f.charToGlyphIndex(c) > 0;
    } catch {
      return false;
    }
  }

  text(s: string, x: number, y: number, style: TextStyle = {}): void {
    if (!this.font || s === '') return;
    const ctx = this.ctx;
    const size = style.size ?? 12;
    ctx.save();
    ctx.font = `${size}px ${FAMILY}`;
    ctx.fillStyle = style.color ?? '#222222';
    ctx.textAlign = style.align ?? 'left';
    ctx.textBaseline = style.baseline ?? 'alphabetic';
    if (style.vertical) {
      ctx.translate(x, y);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(s, 0, 0);
    } else {
      ctx.fillText(s, x, y);
    }
    ctx.restore();
  }

  /** `s` shortened with an ellipsis to fit `maxWidth` px. */
  fit(s: string, maxWidth: number, size = 12): string {
    if (this.textWidth(s, size) <= maxWidth) return s;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (this.textWidth(s.slice(0, mid) + '…', size) <= maxWidth) lo = mid;
      else hi = mid - 1;
    }
    return s.slice(0, lo) + '…';
  }

  /** A legend box at the top right of `r`: a line swatch (or dot) and a label per entry. */
  legend(r: Rect, entries: { label: string; color: string; width?: number; marker?: boolean; alpha?: number }[], corner: 'right' | 'left' = 'right'): void {
    if (entries.length === 0 || !this.hasText) return;
    const size = 11;
    const rowH = 16;
    const swatch = 22;
    const w = Math.ceil(Math.max(...entries.map((e) => this.textWidth(e.label, size)))) + swatch + 18;
    const h = entries.length * rowH + 8;
    const x = corner === 'right' ? r.x + r.w - w - 8 : r.x + 8;
    const y = r.y + 8;
    this.fill(x, y, w, h, [255, 255, 255], 0.88);
    const border: Rgb = [200, 200, 200];
    this.frame({ x: x + 1, y: y + 1, w: w - 2, h: h - 2 }, border);
    entries.forEach((e, i) => {
      const cy = y + 4 + i * rowH + rowH / 2;
      const rgb = parseHex(e.color);
      const lw = Math.max(1, Math.round(e.width ?? 2));
      this.fill(x + 6, cy - lw / 2, swatch, lw, rgb, e.alpha ?? 1);
      if (e.marker) this.dot(x + 6 + swatch / 2, cy, 3.5, e.color);
      this.text(e.label, x + 6 + swatch + 6, cy, { size, baseline: 'middle', color: '#222222' });
    });
  }

  /** PNG bytes (RGB, no alpha channel). */
  png(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.bitmap.data.buffer, this.bitmap.data.byteOffset, this.bitmap.data.byteLength);
    // Paeth filtering on every row: about as small as pngjs's adaptive choice, twice as fast.
    return PNG.sync.write(png, { colorType: 2, filterType: 4 });
  }
}
