/**
 * Plots: the attention alignment over the features (`koe transcribe --plot`) and the training
 * curve (`koe train`). PNGs are decoded with pngjs and checked by their pixels: sizes, where the
 * bright attention lies, which way the feature image runs. Text needs a system TrueType font;
 * without one the plots are drawn without text, which is tested too.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMatrix, type FeatureMatrix } from '../src/features/matrix.js';
import { attentionPlotLayout, renderAttentionPlot } from '../src/plot/attention.js';
import { niceTicks, plotFontFile, setPlotFont } from '../src/plot/canvas.js';
import { movingAverage, parseTrainLog, readTrainLog, renderTrainingCurve, trainingCurveLayout, TRAINING_CURVE_FILE, writeTrainingCurve, type TrainLogRow } from '../src/plot/training-curve.js';

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'koe-plot-'));
  tmpDirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});
afterEach(() => setPlotFont(undefined));

function decode(buf: Buffer): PNG {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return PNG.sync.read(buf);
}

function rgbAt(png: PNG, x: number, y: number): [number, number, number] {
  const i = (y * png.width + x) * 4;
  return [png.data[i] as number, png.data[i + 1] as number, png.data[i + 2] as number];
}

const lum = ([r, g, b]: [number, number, number]): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** `chars` characters, character i attending only to encoder step stride*i + offset. */
function diagonal(chars: number, steps: number, stride: number, offset: number): Float32Array[] {
  return Array.from({ length: chars }, (_, i) => {
    const a = new Float32Array(steps);
    a[stride * i + offset] = 1;
    return a;
  });
}

function syntheticLog(n: number): TrainLogRow[] {
  return Array.from({ length: n }, (_, i) => ({
    step: i,
    loss: 0.4 + 3 * Math.exp(-i / 40) + 0.1 * Math.sin(i * 1.7),
    teacherForcing: Math.max(0.5, 1 - i / 300),
    learningRate: 1e-3 * Math.min(1, (i + 1) / 20),
    gradNorm: 1,
    sampled: 0,
  }));
}

describe('renderAttentionPlot', () => {
  const frames = 200;
  const R = 4;
  const steps = frames / R;
  const text = 'abcd efghi';
  const feats = createMatrix(frames, 39);

  it('returns a PNG of the layout size', () => {
    setPlotFont(null);
    const opts = { features: feats, alignments: diagonal(10, steps, 5, 2), text, timeReduction: R, hopSeconds: 0.01 };
    const png = decode(renderAttentionPlot(opts));
    const L = attentionPlotLayout(opts);
    expect([png.width, png.height]).toEqual([L.width, L.height]);
    expect(L.attention.h).toBe(10 * L.rowHeight);
    expect(L.attention.w).toBe(L.features.w);
  });

  it('puts the bright attention pixels on the diagonal, encoder step t over frames [tR, (t+1)R)', () => {
    setPlotFont(null);
    const opts = { features: feats, alignments: diagonal(10, steps, 5, 2), text, timeReduction: R, hopSeconds: 0.01 };
    const png = decode(renderAttentionPlot(opts));
    const { attention: ar, rowHeight } = attentionPlotLayout(opts);
    const brightPerRow = new Array<number>(10).fill(0);
    const misplaced: string[] = [];
    let maxDark = 0;
    for (let y = ar.y; y < ar.y + ar.h; y++) {
      const row = Math.floor((y - ar.y) / rowHeight);
      const start = (5 * row + 2) * R;
      for (let x = ar.x; x < ar.x + ar.w; x++) {
        const l = lum(rgbAt(png, x, y));
        const frame = ((x - ar.x) * frames) / ar.w;
        if (l > 128) {
          brightPerRow[row]!++;
          // The column's frames overlap [start, start + R).
          if (!(frame > start - 1 && frame < start + R)) misplaced.push(`row ${row}: frame ${frame.toFixed(1)}, expected ${start}..${start + R}`);
        } else {
          maxDark = Math.max(maxDark, l);
        }
      }
    }
    expect(misplaced.slice(0, 5)).toEqual([]);
    expect(maxDark).toBeLessThan(40); // everything else is dark
    // Each row is bright over about R frames' worth of pixels.
    const expected = (R * ar.w) / frames;
    for (const n of brightPerRow) {
      expect(n / rowHeight).toBeGreaterThanOrEqual(expected - 1);
      expect(n / rowHeight).toBeLessThanOrEqual(expected + 1);
    }
  });

  it('draws the features with time on x and dimension 0 at the bottom', () => {
    setPlotFont(null);
    // Dimension 0 high in the first half, low in the second; everything else zero.
    const m: FeatureMatrix = createMatrix(frames, 39);
    for (let t = 0; t < frames; t++) m.data[t * 39] = t < frames / 2 ? 3 : -3;
    m.data[5] = 3; // keeps the colour range at 3
    const opts = { features: m, alignments: diagonal(10, steps, 5, 2), text, timeReduction: R, hopSeconds: 0.01 };
    const png = decode(renderAttentionPlot(opts));
    const { features: fr, dimHeight } = attentionPlotLayout(opts);
    const yDim0 = fr.y + fr.h - Math.ceil(dimHeight / 2);
    const left = rgbAt(png, fr.x + Math.floor(fr.w / 4), yDim0);
    const right = rgbAt(png, fr.x + Math.floor((3 * fr.w) / 4), yDim0);
    expect(lum(left)).toBeGreaterThan(180); // viridis top: yellow
    expect(lum(right)).toBeLessThan(60); // viridis bottom: dark purple
    const middleDim = rgbAt(png, fr.x + Math.floor(fr.w / 4), fr.y + Math.floor(fr.h / 2));
    expect(lum(middleDim)).toBeGreaterThan(60); // 0: the middle of the map
    expect(lum(middleDim)).toBeLessThan(180);
  });

  it('handles no characters, long audio and bad arguments', () => {
    setPlotFont(null);
    const empty = decode(renderAttentionPlot({ features: createMatrix(50, 13), alignments: [], text: '', timeReduction: 8, hopSeconds: 0.01 }));
    expect(empty.width).toBeGreaterThan(0);
    const long = { features: createMatrix(4000, 39), alignments: diagonal(60, 500, 8, 0), text: 'x'.repeat(60), timeReduction: 8, hopSeconds: 0.01 };
    const L = attentionPlotLayout(long);
    expect(L.width).toBeLessThanOrEqual(2000);
    expect(decode(renderAttentionPlot(long)).height).toBe(L.height);
    expect(() => renderAttentionPlot({ features: feats, alignments: [], text: '', timeReduction: 0, hopSeconds: 0.01 })).toThrow(/timeReduction/);
    expect(() => renderAttentionPlot({ features: feats, alignments: [], text: '', timeReduction: 4, hopSeconds: 0 })).toThrow(/hopSeconds/);
  });

  it.skipIf(plotFontFile() === null)('draws text when a font is found', () => {
    const opts = { features: feats, alignments: diagonal(10, steps, 5, 2), text, timeReduction: R, hopSeconds: 0.01, title: 'x.wav' };
    const withText = decode(renderAttentionPlot(opts));
    setPlotFont(null);
    const without = decode(renderAttentionPlot(opts));
    expect([withText.width, withText.height]).toEqual([without.width, without.height]);
    expect(Buffer.compare(withText.data, without.data)).not.toBe(0);
  });
});

describe('renderTrainingCurve', () => {
  it('renders a synthetic log with validation results', () => {
    const rows = syntheticLog(400);
    const epochs = [100, 200, 300, 400].map((step, k) => ({ epoch: k + 1, step, validCer: 0.5 / (k + 1), validWer: 0.9 / (k + 1), validLoss: 1 + 1 / (k + 1) }));
    const png = decode(renderTrainingCurve(rows, epochs));
    const L = trainingCurveLayout();
    expect([png.width, png.height]).toEqual([L.width, L.height]);
    // Something (the curves) is drawn in each panel besides the background and grid.
    for (const r of [L.loss, L.valid, L.schedule]) {
      let coloured = 0;
      for (let y = r.y; y < r.y + r.h; y += 2) {
        for (let x = r.x; x < r.x + r.w; x += 2) {
          const [red, g, b] = rgbAt(png, x, y);
          if (Math.max(red, g, b) - Math.min(red, g, b) > 60) coloured++;
        }
      }
      expect(coloured).toBeGreaterThan(20);
    }
  });

  it('renders with no data, one step, and repeated steps after a resume', () => {
    setPlotFont(null);
    const L = trainingCurveLayout();
    for (const [rows, epochs] of [
      [[], []],
      [syntheticLog(1), []],
      [[...syntheticLog(50), ...syntheticLog(60)], [{ step: 60, validCer: 0.3 }]],
    ] as const) {
      const png = decode(renderTrainingCurve(rows, epochs));
      expect([png.width, png.height]).toEqual([L.width, L.height]);
    }
  });

  it('writes training-curve.png from a run directory', async () => {
    setPlotFont(null);
    const dir = await tempDir();
    await writeFile(path.join(dir, 'train-log.jsonl'), syntheticLog(30).map((r) => JSON.stringify(r) + '\n').join(''));
    const file = await writeTrainingCurve(dir, [{ step: 30, validCer: 0.2, validWer: 0.4 }]);
    expect(file).toBe(path.join(dir, TRAINING_CURVE_FILE));
    expect(decode(await readFile(file)).width).toBe(trainingCurveLayout().width);
  });
});

describe('readTrainLog', () => {
  it('parses train-log.jsonl and skips a torn last line', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'train-log.jsonl');
    const rows = syntheticLog(3);
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"step":3,"loss":1.2,"teacherFor');
    const read = await readTrainLog(file);
    expect(read).toEqual(rows);
    expect(await readTrainLog(path.join(dir, 'missing.jsonl'))).toEqual([]);
  });

  it('skips blank and malformed lines but keeps the rest', () => {
    const text = '{"step":0,"loss":2,"teacherForcing":1,"learningRate":0.001}\n\n[1,2]\n{"step":"x","loss":1}\n{"step":1,"loss":1.5,"teacherForcing":0.9,"learningRate":0.001,"gradNorm":2.5,"sampled":3}\n';
    expect(parseTrainLog(text)).toEqual([
      { step: 0, loss: 2, teacherForcing: 1, learningRate: 0.001 },
      { step: 1, loss: 1.5, teacherForcing: 0.9, learningRate: 0.001, gradNorm: 2.5, sampled: 3 },
    ]);
  });
});

describe('plot helpers', () => {
  it('niceTicks gives round values covering the range', () => {
    expect(niceTicks(0, 3, 5)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3]);
    expect(niceTicks(0, 1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });

  it('movingAverage is centred and shrinks at the ends', () => {
    expect(movingAverage([1, 2, 3, 4, 5], 3)).toEqual([1.5, 2, 3, 4, 4.5]);
    expect(movingAverage([1, NaN, 3], 1)).toEqual([1, NaN, 3]);
  });
});
