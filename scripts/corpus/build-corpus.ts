/**
 * koe corpus builder: multi-voice synthesized speech from offline text, with augmentation.
 *
 *   node dist/scripts/corpus/build-corpus.js --out data/corpus --train 40000 --valid 1000 --test 1000
 *
 * Text (fortunes, World English Bible, WordNet examples, user files) is cleaned, deduplicated and
 * split into disjoint train / valid / test sentence pools (fixed seed). Train and valid are
 * spoken by the training voices, test only by the held-out voices (flite rms, festival
 * ked_diphone), so valid measures unseen sentences and test unseen sentences and voices.
 * Output: 16 kHz mono 16-bit WAVs under OUT/audio/, NeMo manifests OUT/{train,valid,test}.jsonl,
 * OUT/summary.json. Interrupt with Ctrl-C and run the same command again to resume.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';

import { writeManifest, type ManifestRecord } from '../../src/io/manifest.js';
import { manifestFields, planSplit, SPLITS, type AugmentOptions, type PlannedItem, type Split } from './plan.js';
import { formatSummary, summarize, type CorpusSummary, type RunStats } from './summary.js';
import { isTempName, killAllChildren, runPool, type OutputResult } from './synth.js';
import { BUILTIN_SOURCES, extractSentences, splitPools, type BuiltinSource, type ExtractStats, type Sentence, type SentencePools } from './text.js';
import {
  DEFAULT_ENGINE_WEIGHTS,
  DEFAULT_ESPEAK_VARIANTS,
  ENGINES,
  KNOWN_VOICES,
  parseEngineWeights,
  parseVoiceList,
  TEST_VOICES,
  TRAIN_VOICES,
  voiceId,
  voiceProblem,
  which,
  type Engine,
  type Voice,
} from './voices.js';
import { NOISE_TYPES, readWavHeader, type NoiseType } from './wav.js';

/** Everything that decides what the corpus contains (saved as OUT/corpus.json). */
export interface CorpusConfig {
  seed: number;
  sources: BuiltinSource[];
  /** User text files (absolute paths) and the SHA-256 of their content. */
  textFiles: Array<{ path: string; sha256: string }>;
  textMode: 'line' | 'paragraph';
  minWords: number;
  maxWords: number;
  /** Validation and test utterances (they size the sentence pools). */
  valid: number;
  test: number;
  /** Training/validation voice ids and held-out test voice ids. */
  voices: string[];
  testVoices: string[];
  engineWeights: Record<Engine, number>;
  espeakVariants: string[];
  augment: AugmentOptions;
}

export interface BuildOptions {
  out: string;
  /** Training utterances (synthesized sentence-voice pairs; with speed copies, files = train x speeds). */
  train: number;
  valid: number;
  test: number;
  seed: number;
  sources: BuiltinSource[];
  textFiles: string[];
  textMode: 'line' | 'paragraph';
  minWords: number;
  maxWords: number;
  /** Voice lists, e.g. `espeak-ng,mbrola,flite:slt`. */
  voices: string;
  testVoices: string;
  engineWeights: Record<Engine, number>;
  espeakVariants: string[];
  augment: AugmentOptions;
  workers: number;
  /** Per-utterance engine timeout, seconds. */
  timeout: number;
  /** Drop voices whose engine or voice data is missing, instead of stopping. */
  skipMissingVoices: boolean;
  /** Reuse the options saved in OUT/corpus.json (train/valid/test counts may still be given). */
  resume: boolean;
  /** Only rebuild manifests and summary from finished files. */
  manifestsOnly: boolean;
  /** Extract text and plan, synthesize nothing. */
  dryRun: boolean;
  /** No progress bar. */
  quiet: boolean;
  /** Abort: stop dispatching, let running utterances finish, write manifests of finished files. */
  signal?: AbortSignal;
  /** Messages (default: stderr). */
  log?: (msg: string) => void;
}

export const DEFAULTS = {
  out: 'data/corpus',
  train: 40000,
  valid: 1000,
  test: 1000,
  seed: 1234,
  sources: [...BUILTIN_SOURCES] as BuiltinSource[],
  textMode: 'line' as const,
  minWords: 5,
  maxWords: 20,
  voices: 'espeak-ng,mbrola,flite,festival,pico',
  testVoices: TEST_VOICES.map(voiceId).join(','),
  speeds: [0.9, 1.0, 1.1],
  speedMode: 'random' as const,
  noise: 0,
  snr: [10, 30] as [number, number],
  noiseTypes: [...NOISE_TYPES] as NoiseType[],
  telephone: 0,
  timeout: 60,
};

export function defaultOptions(overrides: Partial<BuildOptions> = {}): BuildOptions {
  return {
    out: DEFAULTS.out,
    train: DEFAULTS.train,
    valid: DEFAULTS.valid,
    test: DEFAULTS.test,
    seed: DEFAULTS.seed,
    sources: DEFAULTS.sources,
    textFiles: [],
    textMode: DEFAULTS.textMode,
    minWords: DEFAULTS.minWords,
    maxWords: DEFAULTS.maxWords,
    voices: DEFAULTS.voices,
    testVoices: DEFAULTS.testVoices,
    engineWeights: { ...DEFAULT_ENGINE_WEIGHTS },
    espeakVariants: [...DEFAULT_ESPEAK_VARIANTS],
    augment: {
      speeds: DEFAULTS.speeds,
      speedMode: DEFAULTS.speedMode,
      noise: DEFAULTS.noise,
      snr: DEFAULTS.snr,
      noiseTypes: DEFAULTS.noiseTypes,
      telephone: DEFAULTS.telephone,
      augmentEval: false,
    },
    workers: availableParallelism(),
    timeout: DEFAULTS.timeout,
    skipMissingVoices: false,
    resume: false,
    manifestsOnly: false,
    dryRun: false,
    quiet: false,
    ...overrides,
  };
}

export interface BuildResult {
  summary: CorpusSummary;
  interrupted: boolean;
  /** Utterances that failed in this run. */
  failed: number;
  manifests: Record<Split, string>;
}

const CONFIG_FILE = 'corpus.json';
const STATE_VERSION = 1;

interface SavedState {
  version: number;
  config: CorpusConfig;
  counts: { train: number; valid: number; test: number };
  textStats?: ExtractStats;
}

function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

/** Keys whose values differ between two configs (deep, by JSON). */
function configDiff(a: CorpusConfig, b: CorpusConfig): Array<keyof CorpusConfig> {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof CorpusConfig>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** One lock file per corpus folder: a second builder on the same folder would corrupt it. */
function takeLock(out: string): () => void {
  const lock = path.join(out, '.lock');
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (pid && pid !== process.pid) {
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new Error(`another build (pid ${pid}) is using ${out}; remove ${lock} if that is wrong`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(lock, `${process.pid}\n`);
  const release = (): void => {
    try {
      if (readFileSync(lock, 'utf8').trim() === String(process.pid)) rmSync(lock);
    } catch {
      // gone
    }
  };
  process.once('exit', release);
  return release;
}

/** Remove temporary files of interrupted runs; returns the set of finished file paths (relative). */
async function scanAudio(out: string): Promise<{ finished: Set<string>; removed: number }> {
  const finished = new Set<string>();
  let removed = 0;
  for (const split of SPLITS) {
    const splitDir = path.join(out, 'audio', split);
    let shards: string[] = [];
    try {
      shards = await readdir(splitDir);
    } catch {
      continue;
    }
    for (const shard of shards) {
      let names: string[] = [];
      try {
        names = await readdir(path.join(splitDir, shard));
      } catch {
        continue;
      }
      for (const name of names) {
        if (isTempName(name)) {
          await rm(path.join(splitDir, shard, name), { force: true });
          removed++;
        } else if (name.endsWith('.wav')) {
          finished.add(`audio/${split}/${shard}/${name}`);
        }
      }
    }
  }
  return { finished, removed };
}

function resolveVoices(list: string, testList: string, skipMissing: boolean, log: (m: string) => void): { train: Voice[]; test: Voice[] } {
  let train = parseVoiceList(list, 'train');
  let test = parseVoiceList(testList, 'all');
  const testIds = new Set(test.map(voiceId));
  const clash = train.filter((v) => testIds.has(voiceId(v)));
  if (clash.length) {
    throw new Error(`voice(s) ${clash.map(voiceId).join(', ')} are held out for the test split and cannot also be training voices`);
  }
  const problems: string[] = [];
  const keep = (v: Voice): boolean => {
    const p = voiceProblem(v);
    if (p) problems.push(`${voiceId(v)}: ${p}`);
    return p === null;
  };
  const t2 = train.filter(keep);
  const s2 = test.filter(keep);
  if (problems.length) {
    if (!skipMissing) {
      throw new Error(
        `some voices are not installed:\n  ${problems.join('\n  ')}\n` +
          `install them with \`sudo bash scripts/setup-tts.sh\`, choose others with --voices/--test-voices, or pass --skip-missing-voices`,
      );
    }
    log(`skipping voices that are not installed:\n  ${problems.join('\n  ')}`);
    train = t2;
    test = s2;
  }
  return { train, test };
}

/** Build (or resume) a corpus. */
export async function buildCorpus(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const out = path.resolve(opts.out);
  await mkdir(out, { recursive: true });
  const release = takeLock(out);
  try {
    return await build(opts, out, log);
  } finally {
    release();
  }
}

async function build(opts: BuildOptions, out: string, log: (m: string) => void): Promise<BuildResult> {
  const statePath = path.join(out, CONFIG_FILE);
  let saved: SavedState | null = null;
  try {
    saved = JSON.parse(await readFile(statePath, 'utf8')) as SavedState;
    if (saved.version !== STATE_VERSION) throw new Error(`${statePath}: unsupported version ${saved.version}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    saved = null;
  }

  // --- configuration: from the options, or from the folder when resuming -----------------------
  let config: CorpusConfig;
  const counts = { train: opts.train, valid: opts.valid, test: opts.test };
  if ((opts.resume || opts.manifestsOnly) && saved) {
    config = saved.config;
    counts.valid = config.valid;
    counts.test = config.test;
    if (opts.train < 0) counts.train = saved.counts.train;
  } else {
    if (opts.resume || opts.manifestsOnly) throw new Error(`nothing to resume: ${statePath} does not exist`);
    if (counts.train < 0) counts.train = DEFAULTS.train;
    const voices = resolveVoices(opts.voices, opts.testVoices, opts.skipMissingVoices, log);
    if (counts.train + counts.valid > 0 && voices.train.length === 0) throw new Error('no training voices left to use');
    if (counts.test > 0 && voices.test.length === 0) throw new Error('no held-out test voices left to use');
    const textFiles = await Promise.all(
      opts.textFiles.map(async (f) => ({ path: path.resolve(f), sha256: sha256(await readFile(f)) })),
    );
    config = {
      seed: opts.seed,
      sources: opts.sources,
      textFiles,
      textMode: opts.textMode,
      minWords: opts.minWords,
      maxWords: opts.maxWords,
      valid: counts.valid,
      test: counts.test,
      voices: voices.train.map(voiceId),
      testVoices: voices.test.map(voiceId),
      engineWeights: opts.engineWeights,
      espeakVariants: opts.espeakVariants,
      augment: opts.augment,
    };
    if (saved) {
      const diff = configDiff(saved.config, config);
      if (diff.length) {
        throw new Error(
          `${out} was built with other options (${diff.join(', ')} differ):\n` +
            diff.map((k) => `  ${k}: was ${JSON.stringify(saved!.config[k])}, now ${JSON.stringify(config[k])}`).join('\n') +
            `\nrun with --resume to continue with the saved options, or use another --out folder`,
        );
      }
    }
  }
  if (config.sources.length === 0 && config.textFiles.length === 0) throw new Error('no text: give --sources and/or --text');
  if (!opts.manifestsOnly && !opts.dryRun) {
    if (!which('sox')) {
      throw new Error('sox is not installed (needed for 16 kHz conversion and augmentation): run `sudo bash scripts/setup-tts.sh`');
    }
    const problems = parseVoiceList([...config.voices, ...config.testVoices].join(','), 'all')
      .map((v) => [voiceId(v), voiceProblem(v)] as const)
      .filter(([, p]) => p !== null);
    if (problems.length) {
      throw new Error(
        `voices of this corpus are not installed:\n  ${problems.map(([v, p]) => `${v}: ${p}`).join('\n  ')}\n` +
          'install them with `sudo bash scripts/setup-tts.sh`',
      );
    }
  }

  // --- text: sentence pools, extracted once and kept in OUT/text ----------------------------------
  const textDir = path.join(out, 'text');
  let pools: SentencePools;
  let textStats: ExtractStats | undefined = saved?.textStats;
  if (saved) {
    pools = { train: [], valid: [], test: [] };
    for (const split of SPLITS) {
      const content = await readFile(path.join(textDir, `${split}.jsonl`), 'utf8');
      pools[split] = content.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Sentence);
    }
  } else {
    if (opts.manifestsOnly) throw new Error(`no corpus in ${out}`);
    log(`extracting sentences from ${[...config.sources, ...config.textFiles.map((f) => path.basename(f.path))].join(', ')} ...`);
    const { sentences, stats } = await extractSentences(
      { builtins: config.sources, files: config.textFiles.map((f) => f.path), fileMode: config.textMode },
      { minWords: config.minWords, maxWords: config.maxWords },
    );
    textStats = stats;
    pools = splitPools(sentences, config.valid, config.test, config.seed);
    log(
      `${sentences.length} unique sentences (${Object.entries(stats).map(([k, v]) => `${k} ${v.unique}`).join(', ')}): ` +
        `${pools.train.length} train, ${pools.valid.length} valid, ${pools.test.length} test`,
    );
    if (pools.valid.length < config.valid || pools.test.length < config.test) {
      log(`note: few sentences, so validation/test utterances reuse sentences (with other voices)`);
    }
    if (counts.train > pools.train.length) {
      log(`note: ${counts.train} training utterances from ${pools.train.length} sentences: sentences are reused with other voices`);
    }
    if (!opts.dryRun) {
      await mkdir(textDir, { recursive: true });
      for (const split of SPLITS) {
        await writeAtomic(path.join(textDir, `${split}.jsonl`), pools[split].map((s) => JSON.stringify(s)).join('\n') + '\n');
      }
    }
  }
  const state: SavedState = { version: STATE_VERSION, config, counts, textStats };
  if (!opts.dryRun) await writeAtomic(statePath, JSON.stringify(state, null, 2) + '\n');

  // --- plan ------------------------------------------------------------------------------------
  const planOpts = {
    seed: config.seed,
    trainVoices: parseVoiceList(config.voices.join(','), 'all'),
    testVoices: parseVoiceList(config.testVoices.join(','), 'all'),
    engineWeights: config.engineWeights,
    espeakVariants: config.espeakVariants,
    augment: config.augment,
  };
  const plan: Record<Split, PlannedItem[]> = {
    train: planSplit('train', pools.train, counts.train, planOpts),
    valid: planSplit('valid', pools.valid, counts.valid, planOpts),
    test: planSplit('test', pools.test, counts.test, planOpts),
  };
  const planned = { train: 0, valid: 0, test: 0 };
  for (const split of SPLITS) planned[split] = plan[split].reduce((a, it) => a + it.outputs.length, 0);
  if (opts.dryRun) {
    log(`dry run: would synthesize ${planned.train} train, ${planned.valid} valid, ${planned.test} test files`);
  }

  // --- synthesize what is missing ---------------------------------------------------------------
  const { finished, removed } = await scanAudio(out);
  if (removed) log(`removed ${removed} unfinished temporary file(s) of an interrupted run`);
  const pending = [...plan.valid, ...plan.test, ...plan.train].filter((it) => it.outputs.some((o) => !finished.has(o.relPath)));
  const durations = new Map<string, number>();
  let failed = 0;
  let made = 0;
  let madeSeconds = 0;
  let interrupted = false;
  const synthStart = Date.now();
  if (!opts.manifestsOnly && !opts.dryRun && pending.length > 0) {
    const doneBefore = planned.train + planned.valid + planned.test - pending.reduce((a, it) => a + it.outputs.length, 0);
    log(
      `${pending.length} utterance(s) to synthesize` + (doneBefore ? ` (${doneBefore} file(s) already done)` : '') + ` on ${opts.workers} worker(s)`,
    );
    const failLog = path.join(out, 'failures.jsonl');
    const bar = opts.quiet
      ? null
      : new cliProgress.SingleBar(
          {
            format: 'corpus |{bar}| {percentage}% | {value}/{total} utts | {audio} h audio | {rate} utt/min | ETA {eta_formatted} | failed {failed}',
            hideCursor: true,
            noTTYOutput: true,
            notTTYSchedule: 10_000,
            etaBuffer: 200,
            fps: 4,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
    let jobs = 0;
    const payload = (): Record<string, string | number> => {
      const min = (Date.now() - synthStart) / 60000;
      return { audio: (madeSeconds / 3600).toFixed(2), rate: min > 0 ? (jobs / min).toFixed(0) : '0', failed };
    };
    bar?.start(pending.length, 0, payload());
    const failures: Promise<void>[] = [];
    await runPool(pending, opts.workers, { outDir: out, timeoutMs: opts.timeout * 1000 }, {
      shouldStop: () => {
        if (opts.signal?.aborted) interrupted = true;
        return interrupted;
      },
      onDone: (_item, results: OutputResult[]) => {
        jobs++;
        for (const r of results) {
          durations.set(r.output.relPath, r.duration);
          made++;
          madeSeconds += r.duration;
        }
        bar?.update(jobs, payload());
      },
      onError: (item, err) => {
        jobs++;
        failed++;
        const rec = {
          time: new Date().toISOString(),
          id: item.id,
          split: item.split,
          voice: voiceId(item.rendering.voice),
          variant: item.rendering.variant,
          speak: item.sentence.speak,
          error: err.message,
        };
        failures.push(appendFile(failLog, JSON.stringify(rec) + '\n'));
        if (!bar) log(`failed ${item.id} (${rec.voice}): ${err.message}`);
        bar?.update(jobs, payload());
      },
    });
    bar?.stop();
    await Promise.all(failures);
    if (interrupted) log(`interrupted: ${jobs} of ${pending.length} utterances handled; run the same command again to resume`);
    if (failed) log(`${failed} utterance(s) failed and were skipped; see ${failLog}`);
  }
  const wallSeconds = (Date.now() - synthStart) / 1000;

  // --- manifests from finished files -------------------------------------------------------------
  const manifests = {} as Record<Split, ManifestRecord[]>;
  const manifestPaths = {} as Record<Split, string>;
  for (const split of SPLITS) {
    const records: ManifestRecord[] = [];
    for (const item of plan[split]) {
      for (const o of item.outputs) {
        let duration = durations.get(o.relPath);
        if (duration === undefined) {
          if (!finished.has(o.relPath)) continue;
          try {
            duration = (await readWavHeader(path.join(out, o.relPath))).duration;
          } catch {
            continue;
          }
        }
        records.push({
          audio_filepath: o.relPath,
          text: item.sentence.text,
          duration: Math.round(duration * 1000) / 1000,
          ...manifestFields(item, o),
        });
      }
    }
    manifests[split] = records;
    manifestPaths[split] = path.join(out, `${split}.jsonl`);
    if (!opts.dryRun) await writeManifest(manifestPaths[split], records);
  }

  const run: RunStats | undefined =
    opts.manifestsOnly || opts.dryRun
      ? undefined
      : {
          workers: opts.workers,
          wallSeconds: Math.round(wallSeconds * 10) / 10,
          made,
          failed,
          audioSeconds: Math.round(madeSeconds * 10) / 10,
          utterancesPerMinute: wallSeconds > 0 ? Math.round((made / wallSeconds) * 600) / 10 : 0,
          audioHoursPerWallHour: wallSeconds > 0 ? Math.round((madeSeconds / wallSeconds) * 10) / 10 : 0,
        };
  const summary = summarize(out, manifests, planned, textStats, run);
  if (!opts.dryRun) await writeAtomic(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return { summary, interrupted, failed, manifests: manifestPaths };
}

// ---------------------------------------------------------------------------------------------
// Command line

function intArg(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function fractionArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

function listArg(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

export function makeProgram(): Command {
  const cores = availableParallelism();
  const program = new Command('build-corpus');
  program
    .description(
      'Build a speech corpus from offline text with several TTS engines and voices: 16 kHz mono 16-bit WAVs, ' +
        'NeMo manifests (train.jsonl, valid.jsonl, test.jsonl) and summary.json in --out.\n' +
        'train and valid are spoken by the training voices (valid: unseen sentences); test only by held-out voices ' +
        '(unseen sentences and voices). Stop with Ctrl-C and run the same command again to resume.\n' +
        'Engines and text sources: sudo bash scripts/setup-tts.sh',
    )
    .option('-o, --out <dir>', 'output folder (keep it out of git: data/ is ignored)', DEFAULTS.out)
    .option('--train <n>', `training utterances (default: ${DEFAULTS.train}; with --speed-mode copies, files = n x speeds)`, intArg(0))
    .option('--valid <n>', 'validation utterances: training voices, unseen sentences', intArg(0), DEFAULTS.valid)
    .option('--test <n>', 'test utterances: held-out voices, unseen sentences', intArg(0), DEFAULTS.test)
    .option('--sources <list>', `built-in text sources (${BUILTIN_SOURCES.join(', ')}) or "none"`, DEFAULTS.sources.join(','))
    .option('--text <file>', 'extra text file with sentences, added to the sources (repeatable)', collect)
    .option('--text-mode <mode>', 'how --text files are read: "line" (one or more sentences per line) or "paragraph" (wrapped prose)', DEFAULTS.textMode)
    .option('--min-words <n>', 'shortest sentence kept, in words', intArg(1), DEFAULTS.minWords)
    .option('--max-words <n>', 'longest sentence kept, in words', intArg(1), DEFAULTS.maxWords)
    .option(
      '--voices <list>',
      `training/validation voices: engines (${ENGINES.join(', ')}) or engine:voice ` +
        `(e.g. flite:slt, mbrola:us1, espeak-ng:en-gb-scotland, festival:kal_diphone, pico:en-GB)`,
      DEFAULTS.voices,
    )
    .option('--test-voices <list>', 'held-out voices that speak the test split only', DEFAULTS.testVoices)
    .option(
      '--engine-weights <list>',
      'sampling weight per engine for training voices (voices within an engine are equally likely)',
      Object.entries(DEFAULT_ENGINE_WEIGHTS).map(([k, v]) => `${k}=${v}`).join(','),
    )
    .option('--espeak-variants <list>', `espeak-ng variants to draw from ("default" = the accent's own voice) (default: ${DEFAULT_ESPEAK_VARIANTS.length} voices: default,m1..m8,f1..f5,klatt..klatt4 and named ones)`)
    .option('--speeds <list>', 'speed perturbation factors (sox speed) for train; "1" for none', DEFAULTS.speeds.map((s) => s.toFixed(1)).join(','))
    .option('--speed-mode <mode>', '"random": one factor drawn per utterance; "copies": one file per factor', DEFAULTS.speedMode)
    .option('--noise <fraction>', 'fraction of train files with additive noise', fractionArg, DEFAULTS.noise)
    .option('--snr <min:max>', 'SNR range of the noise, dB', `${DEFAULTS.snr[0]}:${DEFAULTS.snr[1]}`)
    .option('--noise-types <list>', `noise colours (${NOISE_TYPES.join(', ')})`, DEFAULTS.noiseTypes.join(','))
    .option('--telephone <fraction>', 'fraction of train files band-limited to 300-3400 Hz', fractionArg, DEFAULTS.telephone)
    .option('--augment-eval', 'also augment valid and test (default: they stay clean)')
    .option('--seed <n>', 'random seed for the split, voices and augmentation', intArg(0), DEFAULTS.seed)
    .option('-j, --workers <n>', `parallel engine processes (default: number of cores, here ${cores})`, intArg(1))
    .option('--timeout <seconds>', 'per-utterance engine timeout; a failing utterance is logged and skipped', intArg(1), DEFAULTS.timeout)
    .option('--skip-missing-voices', 'leave out voices that are not installed instead of stopping')
    .option('--resume', 'continue the corpus in --out with the options saved there (corpus.json)')
    .option('--manifests-only', 'rebuild the manifests and summary of --out from its finished files')
    .option('--dry-run', 'extract the text and plan the corpus, synthesize nothing')
    .option('--list-voices', 'list the voices and whether they are installed, then exit')
    .option('-q, --quiet', 'no progress bar');
  return program;
}

interface CliValues {
  out: string;
  train?: number;
  valid: number;
  test: number;
  sources: string;
  text?: string[];
  textMode: string;
  minWords: number;
  maxWords: number;
  voices: string;
  testVoices: string;
  engineWeights: string;
  espeakVariants?: string;
  speeds: string;
  speedMode: string;
  noise: number;
  snr: string;
  noiseTypes: string;
  telephone: number;
  augmentEval?: boolean;
  seed: number;
  workers?: number;
  timeout: number;
  skipMissingVoices?: boolean;
  resume?: boolean;
  manifestsOnly?: boolean;
  dryRun?: boolean;
  listVoices?: boolean;
  quiet?: boolean;
}

/** Turn parsed command-line values into build options (throws on bad values). */
export function optionsFromCli(v: CliValues): BuildOptions {
  const sources = v.sources === 'none' ? [] : listArg(v.sources);
  for (const s of sources) {
    if (!(BUILTIN_SOURCES as readonly string[]).includes(s)) {
      throw new Error(`unknown source "${s}" (built-in: ${BUILTIN_SOURCES.join(', ')}, or "none"; files go in --text)`);
    }
  }
  if (v.textMode !== 'line' && v.textMode !== 'paragraph') throw new Error('--text-mode must be "line" or "paragraph"');
  if (v.minWords > v.maxWords) throw new Error('--min-words is larger than --max-words');
  const speeds = listArg(v.speeds).map(Number);
  if (speeds.length === 0 || speeds.some((s) => !Number.isFinite(s) || s < 0.5 || s > 2)) {
    throw new Error('--speeds: expected numbers from 0.5 to 2, e.g. 0.9,1.0,1.1');
  }
  if (v.speedMode !== 'random' && v.speedMode !== 'copies') throw new Error('--speed-mode must be "random" or "copies"');
  const snr = v.snr.split(':').map(Number);
  if (snr.length !== 2 || snr.some((x) => !Number.isFinite(x)) || (snr[0] as number) > (snr[1] as number)) {
    throw new Error('--snr: expected MIN:MAX in dB, e.g. 10:30');
  }
  const noiseTypes = listArg(v.noiseTypes);
  for (const t of noiseTypes) {
    if (!(NOISE_TYPES as readonly string[]).includes(t)) throw new Error(`unknown noise type "${t}" (${NOISE_TYPES.join(', ')})`);
  }
  const variants = v.espeakVariants === undefined ? [...DEFAULT_ESPEAK_VARIANTS] : listArg(v.espeakVariants).map((x) => (x === 'default' ? '' : x));
  for (const x of variants) if (!/^[A-Za-z0-9_-]*$/.test(x)) throw new Error(`bad espeak-ng variant "${x}"`);
  const weights = parseEngineWeights(v.engineWeights);
  return defaultOptions({
    out: v.out,
    train: v.train ?? -1,
    valid: v.valid,
    test: v.test,
    seed: v.seed,
    sources: sources as BuiltinSource[],
    textFiles: v.text ?? [],
    textMode: v.textMode as 'line' | 'paragraph',
    minWords: v.minWords,
    maxWords: v.maxWords,
    voices: v.voices,
    testVoices: v.testVoices,
    engineWeights: weights,
    espeakVariants: variants,
    augment: {
      speeds,
      speedMode: v.speedMode as 'random' | 'copies',
      noise: v.noise,
      snr: [snr[0] as number, snr[1] as number],
      noiseTypes: noiseTypes as NoiseType[],
      telephone: v.telephone,
      augmentEval: v.augmentEval === true,
    },
    workers: v.workers ?? availableParallelism(),
    timeout: v.timeout,
    skipMissingVoices: v.skipMissingVoices === true,
    resume: v.resume === true,
    manifestsOnly: v.manifestsOnly === true,
    dryRun: v.dryRun === true,
    quiet: v.quiet === true,
  });
}

function listVoices(): string {
  const rows: string[] = [];
  const held = new Set(TEST_VOICES.map(voiceId));
  for (const engine of ENGINES) {
    for (const name of KNOWN_VOICES[engine]) {
      const v: Voice = { engine, name };
      const problem = voiceProblem(v);
      const role = held.has(voiceId(v)) ? 'test (held out)' : TRAIN_VOICES[engine].includes(name) ? 'train/valid' : '';
      rows.push(`${voiceId(v).padEnd(34)} ${role.padEnd(16)} ${problem ?? 'installed'}`);
    }
  }
  rows.push(`${'sox'.padEnd(34)} ${'(conversion)'.padEnd(16)} ${which('sox') ? 'installed' : 'not installed'}`);
  return rows.join('\n');
}

export async function main(argv = process.argv): Promise<number> {
  const program = makeProgram();
  program.parse(argv);
  const values = program.opts<CliValues>();
  if (values.listVoices) {
    process.stdout.write(listVoices() + '\n');
    return 0;
  }
  let options: BuildOptions;
  try {
    options = optionsFromCli(values);
  } catch (err) {
    process.stderr.write(`build-corpus: ${(err as Error).message}\n`);
    return 2;
  }
  const ac = new AbortController();
  let hits = 0;
  const onSignal = (): void => {
    hits++;
    if (hits === 1) {
      process.stderr.write('\nstopping: letting running utterances finish, then writing manifests (Ctrl-C again to stop at once)\n');
      ac.abort();
    } else {
      killAllChildren();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await buildCorpus({ ...options, signal: ac.signal });
    process.stdout.write(formatSummary(result.summary) + '\n');
    return result.interrupted ? 130 : 0;
  } catch (err) {
    process.stderr.write(`build-corpus: ${(err as Error).message}\n`);
    return 1;
  }
}

const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs && import.meta.url === pathToFileURL(invokedAs).href) {
  main().then((code) => process.exit(code));
}
