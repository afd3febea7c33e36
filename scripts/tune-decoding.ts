/**
 * Tune a model's beam-search weights on a manifest (`npm run tune-decoding -- ...`, after the build).
 *
 * Coordinate search: start from the model's recommended decoding (model.json `decoding`, else the
 * global defaults); for each axis in the order given, score every value with the other settings at
 * their best so far and keep the best (lowest WER, then lowest CER); repeat for --passes passes.
 * Settings already scored are not decoded again. Features are computed once per utterance and
 * reused by every setting, so only decoding is repeated.
 *
 * Prints one markdown row per setting as it is scored, then the best setting, which
 * `--out FILE` also writes as JSON for `node dist/scripts/set-model-decoding.js MODEL FILE`.
 *
 * Tune on the validation split, not on the test split that reports the model's error rates.
 */
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';

import { positiveInt } from '../src/cli/common.js';
import { evaluate, manifestEvalItems, type EvalItem } from '../src/eval/evaluate.js';
import type { DecodeOptions } from '../src/decode/hypothesis.js';
import { readManifest } from '../src/io/manifest.js';
import { Progress } from '../src/train/progress.js';
import { markdownTable } from './compare.js';

/** The numeric decoding settings that can be tuned (all of them beam-search settings). */
export const TUNABLE_KEYS = ['beam', 'ctcWeight', 'lmWeight', 'lengthBonus', 'wordLmWeight', 'oovPenalty', 'wordBonus', 'lengthPenalty'] as const;
export type TunableKey = (typeof TUNABLE_KEYS)[number];
export type Settings = Record<TunableKey, number>;

export interface Axis {
  key: TunableKey;
  values: number[];
}

/** What one setting scored. */
export interface Score {
  wer: number;
  cer: number;
  sub: number;
  del: number;
  ins: number;
}

export interface Trial {
  settings: Settings;
  score: Score;
}

/** Parse `lmWeight=0.1,0.2,0.3` into an axis (finite numbers; beam a positive integer). */
export function parseAxis(spec: string): Axis {
  const m = /^([A-Za-z]+)=(.+)$/.exec(spec.trim());
  if (!m) throw new InvalidArgumentError(`expected KEY=V1,V2,... (got "${spec}")`);
  const key = m[1] as TunableKey;
  if (!TUNABLE_KEYS.includes(key)) throw new InvalidArgumentError(`unknown setting "${m[1]}" (tunable: ${TUNABLE_KEYS.join(', ')})`);
  const values = (m[2] as string).split(',').map((s) => s.trim());
  const numbers = values.map(Number);
  const bad = values.find((v, i) => v === '' || !Number.isFinite(numbers[i]));
  if (bad !== undefined) throw new InvalidArgumentError(`${key}: "${bad}" is not a number`);
  if (key === 'beam' && numbers.some((n) => !Number.isInteger(n) || n < 2)) {
    throw new InvalidArgumentError('beam: values must be integers of at least 2 (beam 1 is greedy decoding, which has no weights)');
  }
  if (numbers.some((n) => n < 0)) throw new InvalidArgumentError(`${key}: values must not be negative`);
  return { key, values: [...new Set(numbers)] };
}

/** a better than b: lower WER, then lower CER. */
export function better(a: Score, b: Score): boolean {
  return a.wer < b.wer || (a.wer === b.wer && a.cer < b.cer);
}

const settingsKey = (s: Settings): string => TUNABLE_KEYS.map((k) => s[k]).join(',');

/**
 * Coordinate search over `axes` from `start`: `score` is called once per distinct setting, in
 * order (start first). Returns the best setting and every trial in the order scored.
 */
export async function coordinateSearch(
  start: Settings,
  axes: readonly Axis[],
  score: (s: Settings) => Promise<Score>,
  passes = 1,
): Promise<{ best: Trial; trials: Trial[] }> {
  const trials: Trial[] = [];
  const seen = new Map<string, Score>();
  const scoreOnce = async (s: Settings): Promise<Score> => {
    const key = settingsKey(s);
    let r = seen.get(key);
    if (!r) {
      r = await score(s);
      seen.set(key, r);
      trials.push({ settings: s, score: r });
    }
    return r;
  };
  let best: Trial = { settings: start, score: await scoreOnce(start) };
  for (let pass = 0; pass < passes; pass++) {
    const before = settingsKey(best.settings);
    for (const axis of axes) {
      for (const value of axis.values) {
        const settings = { ...best.settings, [axis.key]: value };
        const s = await scoreOnce(settings);
        if (better(s, best.score)) best = { settings, score: s };
      }
    }
    if (settingsKey(best.settings) === before) break; // a pass that changed nothing: converged
  }
  return { best, trials };
}

/**
 * The recommended decoding to write: the model's current one (`existing`, kept for the settings not
 * tuned), with the beam width and every tuned setting taken from `best`.
 */
export function decodingToWrite(existing: Readonly<Record<string, unknown>>, best: Settings, axes: readonly Axis[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...existing, beam: best.beam };
  for (const a of axes) out[a.key] = best[a.key];
  return out;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** `ctcWeight 0.3, lmWeight 0.2`: the tuned settings of one trial. */
function describe(keys: readonly TunableKey[], s: Settings): string {
  return keys.map((k) => `${k} ${s[k]}`).join(', ');
}

/** Every trial as a markdown table: the tuned settings, then WER, CER, S, D, I. */
export function trialsTable(keys: readonly TunableKey[], trials: readonly Trial[]): string {
  return markdownTable(
    [...keys, 'WER', 'CER', 'S', 'D', 'I'],
    trials.map((t) => [...keys.map((k) => String(t.settings[k])), pct(t.score.wer), pct(t.score.cer), String(t.score.sub), String(t.score.del), String(t.score.ins)]),
  );
}

interface TuneOptions {
  manifest: string;
  model: string;
  axis: Axis[];
  limit?: number;
  passes: number;
  out?: string;
  backend?: string;
}

export function makeProgram(): Command {
  return new Command('tune-decoding')
    .description("coordinate search over a model's beam-search weights on a manifest (lowest WER, then CER)")
    .requiredOption('--manifest <file>', 'JSON lines manifest to tune on (the validation split, not the test split)')
    .option('--model <dir>', 'koe model directory', 'models/default')
    .requiredOption(
      '--axis <key=values>',
      `a setting and the values to try, e.g. lmWeight=0.1,0.2,0.3; repeat for more, searched in the order given (keys: ${TUNABLE_KEYS.join(', ')})`,
      (v: string, prev: Axis[] = []) => [...prev, parseAxis(v)],
    )
    .option('--limit <n>', 'use only the first n utterances', positiveInt('--limit'))
    .option('--passes <n>', 'coordinate-search passes over the axes (stops early when a pass changes nothing)', positiveInt('--passes'), 1)
    .option('--out <file>', 'write the best setting as JSON (for scripts/set-model-decoding.ts)')
    .option('--backend <name>', 'tfjs backend: auto, tensorflow, wasm, cpu (default: KOE_BACKEND, else auto)')
    .addHelpText(
      'after',
      [
        '',
        "The search starts from the model's recommended decoding (model.json `decoding`), else koe's defaults.",
        '',
        'Example:',
        '  npm run tune-decoding -- --manifest data/corpus/valid-300.jsonl --model models/default \\',
        '    --axis ctcWeight=0.2,0.3,0.5 --axis lmWeight=0.1,0.2,0.3 --axis wordLmWeight=0.2,0.3,0.5 --out decoding.json',
      ].join('\n'),
    )
    .showHelpAfterError()
    .allowExcessArguments(false);
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = makeProgram();
  program.parse(argv);
  const opts = program.opts<TuneOptions>();
  let entries = await readManifest(opts.manifest);
  if (opts.limit !== undefined) entries = entries.slice(0, opts.limit);
  if (entries.length === 0) {
    process.stderr.write(`tune-decoding: ${opts.manifest} has no utterances\n`);
    return 1;
  }
  const { Transcriber } = await import('../src/transcriber.js');
  const transcriber = await Transcriber.load(opts.model, { backend: opts.backend });
  try {
    // Each utterance's features once, for every setting.
    const items: EvalItem[] = manifestEvalItems(entries, transcriber).map((item) => {
      let cached: ReturnType<EvalItem['load']> | undefined;
      return { ...item, load: () => (cached ??= item.load()) };
    });
    const resolved = transcriber.resolveDecodeOptions();
    const start = Object.fromEntries(TUNABLE_KEYS.map((k) => [k, resolved[k]])) as Settings;
    if (start.beam < 2) start.beam = 4; // the weights act only in beam search
    const keys = TUNABLE_KEYS.filter((k) => k === 'beam' || opts.axis.some((a) => a.key === k));
    process.stdout.write(`${entries.length} utterances of ${opts.manifest}, model ${opts.model} (backend ${transcriber.backend.name})\n`);
    const score = async (s: Settings): Promise<Score> => {
      const bar = new Progress(items.length, describe(keys, s), [], false);
      bar.start();
      const options: Partial<DecodeOptions> = { decoder: 'attention', ...s };
      const r = await evaluate(items, (feats) => feats.map((f) => transcriber.decode(f, options)[0]!), {
        batchSize: 1,
        onProgress: (done) => bar.update(done),
      });
      bar.stop();
      // A line per setting as it comes, so an interrupted search still shows what it scored.
      process.stdout.write(`${describe(keys, s)}: WER ${pct(r.wer)}, CER ${pct(r.cer)} (S/D/I ${r.sub}/${r.del}/${r.ins})\n`);
      return { wer: r.wer, cer: r.cer, sub: r.sub, del: r.del, ins: r.ins };
    };
    const { best, trials } = await coordinateSearch(start, opts.axis, score, opts.passes);
    const decoding = decodingToWrite(transcriber.loaded.decoding ?? {}, best.settings, opts.axis);
    process.stdout.write(`\n${trialsTable(keys, trials)}\n\nbest: WER ${pct(best.score.wer)}, CER ${pct(best.score.cer)}: ${JSON.stringify(decoding)}\n`);
    if (opts.out) {
      await writeFile(opts.out, JSON.stringify(decoding) + '\n');
      process.stdout.write(`wrote ${opts.out} (apply with: node dist/scripts/set-model-decoding.js ${opts.model} ${opts.out})\n`);
    }
    return 0;
  } finally {
    transcriber.dispose();
  }
}

const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs && import.meta.url === pathToFileURL(invokedAs).href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`tune-decoding: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
