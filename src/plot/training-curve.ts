/**
 * The training curve of a `koe train` run, from train-log.jsonl (one row per optimizer step)
 * and the checkpoint's per-epoch records:
 *
 *   top     training loss per step (raw, light) and its moving average, validation loss per epoch,
 *   middle  validation CER and WER per epoch, in %,
 *   bottom  teacher-forcing probability per step (left axis) and learning rate (right axis),
 *
 * all on one step axis, with the epoch boundaries dotted.
 *
 *   await writeTrainingCurve(outDir, progress.epochs);   // outDir/training-curve.png
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { Figure, formatTick, niceTicks, parseHex, type Rect } from './canvas.js';

/** One line of train-log.jsonl. */
export interface TrainLogRow {
  step: number;
  loss: number;
  teacherForcing: number;
  learningRate: number;
  gradNorm?: number;
  /** Decoder inputs that were sampled from the model instead of the ground truth. */
  sampled?: number;
}

/** What the plot needs of a step. */
export interface TrainingCurveStep {
  step: number;
  loss: number;
  teacherForcing: number;
  learningRate: number;
}

/** What the plot needs of an epoch (the checkpoint's EpochRecord fits). CER and WER are fractions. */
export interface TrainingCurveEpoch {
  step: number;
  epoch?: number;
  validCer?: number;
  validWer?: number;
  validLoss?: number;
}

/** Name of the PNG that `koe train` writes beside its checkpoints. */
export const TRAINING_CURVE_FILE = 'training-curve.png';

/**
 * The rows of a train-log.jsonl file, in file order. Lines that are not complete JSON objects
 * with a numeric step and loss (a line torn by a crash, typically the last) are skipped.
 * A missing file gives no rows.
 */
export async function readTrainLog(file: string): Promise<TrainLogRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseTrainLog(text);
}

/** {@link readTrainLog} on the file's text. */
export function parseTrainLog(text: string): TrainLogRow[] {
  const rows: TrainLogRow[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof o !== 'object' || o === null) continue;
    const r = o as Record<string, unknown>;
    if (typeof r.step !== 'number' || typeof r.loss !== 'number') continue;
    const row: TrainLogRow = {
      step: r.step,
      loss: r.loss,
      teacherForcing: typeof r.teacherForcing === 'number' ? r.teacherForcing : NaN,
      learningRate: typeof r.learningRate === 'number' ? r.learningRate : NaN,
    };
    if (typeof r.gradNorm === 'number') row.gradNorm = r.gradNorm;
    if (typeof r.sampled === 'number') row.sampled = r.sampled;
    rows.push(row);
  }
  return rows;
}

/** Read `dir`/train-log.jsonl and write `dir`/training-curve.png (atomically); returns its path. */
export async function writeTrainingCurve(dir: string, epochs: readonly TrainingCurveEpoch[]): Promise<string> {
  const rows = await readTrainLog(path.join(dir, 'train-log.jsonl'));
  const file = path.join(dir, TRAINING_CURVE_FILE);
  await writeFileAtomic(file, renderTrainingCurve(rows, epochs));
  return file;
}

const COLORS = {
  raw: '#9ecae1',
  avg: '#08519c',
  validLoss: '#e6550d',
  cer: '#d62728',
  wer: '#7b3294',
  tf: '#2ca02c',
  lr: '#8c8c8c',
};

const WIDTH = 1000;
const LEFT = 74;
const RIGHT = 84;
const TOP = 62;
const GAP = 34;
const BOTTOM = 52;
const H_LOSS = 270;
const H_VALID = 180;
const H_TF = 130;

export interface TrainingCurveLayout {
  width: number;
  height: number;
  loss: Rect;
  valid: Rect;
  schedule: Rect;
}

export function trainingCurveLayout(): TrainingCurveLayout {
  const w = WIDTH - LEFT - RIGHT;
  const loss = { x: LEFT, y: TOP, w, h: H_LOSS };
  const valid = { x: LEFT, y: loss.y + loss.h + GAP, w, h: H_VALID };
  const schedule = { x: LEFT, y: valid.y + valid.h + GAP, w, h: H_TF };
  return { width: WIDTH, height: schedule.y + schedule.h + BOTTOM, loss, valid, schedule };
}

/** PNG bytes of the training curve. */
export function renderTrainingCurve(steps: readonly TrainingCurveStep[], epochs: readonly TrainingCurveEpoch[]): Buffer {
  const L = trainingCurveLayout();
  const fig = new Figure(L.width, L.height);

  // A resumed run may log a step twice (the steps after the last checkpoint are redone): keep
  // the last row per step.
  const byStep = new Map<number, TrainingCurveStep>();
  for (const s of steps) if (Number.isFinite(s.step)) byStep.set(s.step, s);
  const rows = [...byStep.values()].sort((a, b) => a.step - b.step);
  const eps = epochs.filter((e) => Number.isFinite(e.step)).slice().sort((a, b) => a.step - b.step);

  const maxStep = Math.max(1, ...rows.map((r) => r.step + 1), ...eps.map((e) => e.step));
  const xOf = (step: number): number => L.loss.x + (step / maxStep) * L.loss.w;

  // Title.
  fig.text('training curve', L.loss.x, 24, { size: 15, color: '#111111' });
  const best = eps.filter((e) => e.validCer !== undefined && Number.isFinite(e.validCer)).reduce<TrainingCurveEpoch | undefined>((b, e) => (!b || (e.validCer as number) < (b.validCer as number) ? e : b), undefined);
  const summary = [
    `${rows.length} steps logged`,
    `${eps.length} epoch${eps.length === 1 ? '' : 's'}`,
    best ? `best CER ${pct(best.validCer as number)} (epoch ${best.epoch ?? eps.indexOf(best) + 1})` : '',
    rows.length > 0 ? `last loss ${(rows[rows.length - 1] as TrainingCurveStep).loss.toFixed(3)}` : '',
  ].filter(Boolean);
  fig.text(summary.join(' · '), L.loss.x, 46, { size: 12, color: '#555555' });

  const panels = [L.loss, L.valid, L.schedule];
  for (const p of panels) fig.fill(p.x, p.y, p.w, p.h, [250, 250, 252]);

  // Epoch boundaries and x grid.
  const xticks = niceTicks(0, maxStep, 8).filter((t) => Number.isInteger(t));
  for (const p of panels) {
    for (const t of xticks) fig.fill(Math.round(xOf(t)), p.y, 1, p.h, [232, 232, 236]);
  }
  const labelEvery = Math.max(1, Math.ceil(eps.length / 20));
  eps.forEach((e, k) => {
    const x = Math.round(xOf(e.step));
    for (const p of panels) fig.dottedV(x, p.y, p.y + p.h, [150, 150, 160]);
    if ((k + 1) % labelEvery === 0 || k === eps.length - 1) {
      fig.text(`ep ${e.epoch ?? k + 1}`, x, L.loss.y - 4, { size: 9, align: 'center', color: '#888888' });
    }
  });

  drawLossPanel(fig, L.loss, rows, eps, xOf);
  drawValidPanel(fig, L.valid, eps, xOf);
  drawSchedulePanel(fig, L.schedule, rows, xOf);

  // Shared x axis under the last panel.
  const b = L.schedule;
  for (const t of xticks) {
    const x = Math.round(xOf(t));
    for (const p of panels) fig.fill(x, p.y + p.h + 1, 1, 4, [60, 60, 60]);
    fig.text(String(t), x, b.y + b.h + 19, { size: 11, align: 'center', color: '#333333' });
  }
  fig.text('step', b.x + b.w / 2, b.y + b.h + 42, { size: 12, align: 'center', color: '#333333' });
  for (const p of panels) fig.frame(p);
  return fig.png();
}

function drawLossPanel(fig: Figure, r: Rect, rows: TrainingCurveStep[], eps: TrainingCurveEpoch[], xOf: (s: number) => number): void {
  const losses = rows.map((s) => s.loss).filter(Number.isFinite);
  const validLosses = eps.map((e) => e.validLoss).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (losses.length === 0 && validLosses.length === 0) {
    noData(fig, r, 'no training steps logged yet');
    yLabel(fig, r, 'loss');
    return;
  }
  // Clip single spikes: the top is the 99th percentile of the raw loss (or the validation loss).
  const sorted = losses.slice().sort((a, b) => a - b);
  const p99 = sorted.length > 0 ? (sorted[Math.floor(0.99 * (sorted.length - 1))] as number) : 0;
  let hi = Math.max(p99, ...validLosses) * 1.05;
  let lo = Math.min(0, ...losses, ...validLosses);
  if (!(hi > lo)) hi = lo + 1;
  const ticks = yAxis(fig, r, lo, hi, 'loss');
  lo = Math.min(lo, ticks[0] ?? lo);
  const yOf = (v: number): number => r.y + r.h - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * r.h;

  // Raw loss: a polyline when there are few steps; an envelope per pixel column otherwise.
  if (rows.length * 2 <= r.w) {
    fig.polyline(rows.map((s) => [xOf(s.step), yOf(s.loss)] as const), COLORS.raw, 1);
  } else {
    const cols = columns(rows, r, xOf, (s) => s.loss);
    const rgb = parseHex(COLORS.raw);
    let prev: number | undefined;
    for (const c of cols) {
      if (!c) {
        prev = undefined;
        continue;
      }
      let top = yOf(c.max);
      let bot = yOf(c.min);
      if (prev !== undefined) {
        top = Math.min(top, prev);
        bot = Math.max(bot, prev);
      }
      fig.fill(c.x, Math.floor(top), 1, Math.max(1, Math.ceil(bot) - Math.floor(top) + 1), rgb);
      prev = yOf(c.last);
    }
  }

  // Moving average (centred, window ~1/40 of the run, at least 1, at most 500 steps).
  const win = Math.max(1, Math.min(500, Math.round(rows.length / 40)));
  const avg = movingAverage(rows.map((s) => s.loss), win);
  const pts = thin(rows.map((s, i) => [xOf(s.step), yOf(avg[i] as number)] as const), r.w);
  fig.polyline(pts, COLORS.avg, 2);

  // Validation loss per epoch.
  const vpts = eps.filter((e) => e.validLoss !== undefined && Number.isFinite(e.validLoss)).map((e) => [xOf(e.step), yOf(e.validLoss as number)] as const);
  fig.polyline(vpts, COLORS.validLoss, 1.5);
  for (const [x, y] of vpts) fig.dot(x, y, 3.5, COLORS.validLoss);

  const legend: { label: string; color: string; width: number; marker?: boolean }[] = [
    { label: 'loss per step', color: COLORS.raw, width: 3 },
    { label: `moving average (${win} step${win === 1 ? '' : 's'})`, color: COLORS.avg, width: 2 },
  ];
  if (vpts.length > 0) legend.push({ label: 'validation loss', color: COLORS.validLoss, width: 2, marker: true });
  fig.legend(r, legend);
}

function drawValidPanel(fig: Figure, r: Rect, eps: TrainingCurveEpoch[], xOf: (s: number) => number): void {
  const series = [
    { key: 'validCer' as const, label: 'validation CER', color: COLORS.cer },
    { key: 'validWer' as const, label: 'validation WER', color: COLORS.wer },
  ].map((s) => ({ ...s, pts: eps.filter((e) => e[s.key] !== undefined && Number.isFinite(e[s.key])).map((e) => ({ step: e.step, v: (e[s.key] as number) * 100 })) }));
  const all = series.flatMap((s) => s.pts.map((p) => p.v));
  if (all.length === 0) {
    noData(fig, r, 'no validation results yet (validation runs at the end of each epoch)');
    yLabel(fig, r, 'error rate (%)');
    return;
  }
  let hi = Math.max(1, ...all) * 1.1;
  if (hi > 100 && Math.max(...all) <= 100) hi = 100;
  const ticks = yAxis(fig, r, 0, hi, 'error rate (%)', (v, t) => `${formatTick(v, t)}%`);
  hi = Math.max(hi, ticks[ticks.length - 1] ?? hi);
  const yOf = (v: number): number => r.y + r.h - (Math.max(0, Math.min(hi, v)) / hi) * r.h;
  const legend: { label: string; color: string; width: number; marker: boolean }[] = [];
  for (const s of series) {
    if (s.pts.length === 0) continue;
    const pts = s.pts.map((p) => [xOf(p.step), yOf(p.v)] as const);
    fig.polyline(pts, s.color, 2);
    for (const [x, y] of pts) fig.dot(x, y, 3.5, s.color);
    const last = s.pts[s.pts.length - 1] as { step: number; v: number };
    legend.push({ label: `${s.label} (last ${last.v.toFixed(1)}%)`, color: s.color, width: 2, marker: true });
  }
  fig.legend(r, legend);
}

function drawSchedulePanel(fig: Figure, r: Rect, rows: TrainingCurveStep[], xOf: (s: number) => number): void {
  if (rows.length === 0) {
    noData(fig, r, 'no training steps logged yet');
    yLabel(fig, r, 'teacher forcing');
    return;
  }
  yAxis(fig, r, 0, 1, 'teacher forcing', undefined, 3);
  const yTf = (v: number): number => r.y + r.h - Math.max(0, Math.min(1, v)) * r.h;
  const lrs = rows.map((s) => s.learningRate).filter((v) => Number.isFinite(v) && v >= 0);
  const lrMax = lrs.length > 0 ? Math.max(...lrs) : 0;
  if (lrMax > 0) {
    // Learning rate on the right axis.
    const top = lrMax * 1.1;
    const ticks = niceTicks(0, top, 3).filter((t) => t <= top);
    for (const t of ticks) {
      const y = r.y + r.h - (t / top) * r.h;
      fig.fill(r.x + r.w + 1, Math.round(y), 4, 1, [60, 60, 60]);
      fig.text(t === 0 ? '0' : t.toExponential(1), r.x + r.w + 8, y, { size: 10, baseline: 'middle', color: '#555555' });
    }
    fig.text('learning rate', r.x + r.w + 66, r.y + r.h / 2, { size: 11, vertical: true, align: 'center', baseline: 'middle', color: '#555555' });
    const pts = thin(rows.filter((s) => Number.isFinite(s.learningRate)).map((s) => [xOf(s.step), r.y + r.h - (s.learningRate / top) * r.h] as const), r.w);
    fig.polyline(pts, COLORS.lr, 1.5);
  }
  const tf = thin(rows.filter((s) => Number.isFinite(s.teacherForcing)).map((s) => [xOf(s.step), yTf(s.teacherForcing)] as const), r.w);
  fig.polyline(tf, COLORS.tf, 2);
  const legend = [{ label: 'teacher-forcing probability', color: COLORS.tf, width: 2 }];
  if (lrMax > 0) legend.push({ label: 'learning rate (right axis)', color: COLORS.lr, width: 2 });
  fig.legend(r, legend);
}

// ---------------------------------------------------------------------------------------------

/** Left y axis: ticks, labels, grid lines and the axis title; returns the ticks. */
function yAxis(fig: Figure, r: Rect, lo: number, hi: number, title: string, fmt?: (v: number, ticks: number[]) => string, target = 5): number[] {
  const ticks = niceTicks(lo, hi, target).filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12);
  for (const t of ticks) {
    const y = Math.round(r.y + r.h - ((t - lo) / (hi - lo)) * r.h);
    if (y > r.y && y < r.y + r.h) fig.fill(r.x, y, r.w, 1, [232, 232, 236]);
    fig.fill(r.x - 5, y, 4, 1, [60, 60, 60]);
    fig.text(fmt ? fmt(t, ticks) : formatTick(t, ticks), r.x - 8, y, { size: 11, align: 'right', baseline: 'middle', color: '#333333' });
  }
  yLabel(fig, r, title);
  return ticks;
}

function yLabel(fig: Figure, r: Rect, title: string): void {
  fig.text(title, 16, r.y + r.h / 2, { size: 12, vertical: true, align: 'center', baseline: 'middle', color: '#333333' });
}

function noData(fig: Figure, r: Rect, msg: string): void {
  fig.text(msg, r.x + r.w / 2, r.y + r.h / 2, { size: 12, align: 'center', baseline: 'middle', color: '#888888' });
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

/** Min, max and last value of the rows falling in each pixel column of `r`. */
function columns<T extends { step: number }>(rows: T[], r: Rect, xOf: (s: number) => number, value: (t: T) => number): ({ x: number; min: number; max: number; last: number } | undefined)[] {
  const cols: ({ x: number; min: number; max: number; last: number } | undefined)[] = new Array(r.w).fill(undefined);
  for (const row of rows) {
    const v = value(row);
    if (!Number.isFinite(v)) continue;
    const c = Math.max(0, Math.min(r.w - 1, Math.floor(xOf(row.step) - r.x)));
    const cur = cols[c];
    if (!cur) cols[c] = { x: r.x + c, min: v, max: v, last: v };
    else {
      cur.min = Math.min(cur.min, v);
      cur.max = Math.max(cur.max, v);
      cur.last = v;
    }
  }
  return cols;
}

/** Centred moving average with the window shrinking at the ends; NaN values are skipped. */
export function movingAverage(values: readonly number[], window: number): number[] {
  const half = Math.floor(window / 2);
  const n = values.length;
  const prefix = new Float64Array(n + 1);
  const count = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    const ok = Number.isFinite(v);
    prefix[i + 1] = (prefix[i] as number) + (ok ? v : 0);
    count[i + 1] = (count[i] as number) + (ok ? 1 : 0);
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - half);
    const b = Math.min(n, i + half + 1);
    const c = (count[b] as number) - (count[a] as number);
    out.push(c > 0 ? ((prefix[b] as number) - (prefix[a] as number)) / c : NaN);
  }
  return out;
}

/** At most about 2 points per pixel column (keeps the stroker fast on long runs). */
function thin(pts: (readonly [number, number])[], width: number): (readonly [number, number])[] {
  if (pts.length <= width * 2) return pts;
  const out: (readonly [number, number])[] = [];
  let lastCol = -Infinity;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i] as readonly [number, number];
    const col = Math.floor(p[0] * 2);
    if (col !== lastCol || i === pts.length - 1) out.push(p);
    lastCol = col;
  }
  return out;
}
