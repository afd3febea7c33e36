/** Pieces shared by the CLI commands: option parsing, error reporting, exit codes. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { initBackend, type BackendInfo } from '../backend.js';
import { DEFAULT_DECODE_OPTIONS, type DecodeOptions, type DecoderKind } from '../decode/hypothesis.js';
import { defaultModelDir, Transcriber } from '../transcriber.js';
import { definedOnly } from '../util/defined.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INTERRUPTED = 130;

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
    return n;
  };
}

export interface GlobalOptions {
  backend?: string;
  verbose?: boolean;
}

/** The options given to the top-level program (--backend, --verbose). */
export function globalOptions(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

/** Start the backend; with --verbose, say which one runs and why others were passed over. */
export async function startBackend(cmd: Command): Promise<BackendInfo> {
  const g = globalOptions(cmd);
  const info = await initBackend(g.backend);
  if (g.verbose) {
    process.stderr.write(`koe: backend ${info.name}${info.fallbacks.length ? ` (passed over: ${info.fallbacks.join('; ')})` : ''}\n`);
  }
  return info;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function fail(message: string): never {
  process.stderr.write(`koe: ${message}\n`);
  process.exit(EXIT_FAILURE);
}

/** The word-LM flags (transcribe, eval, listen). */
export interface WordLmFlags {
  wordLm?: string | false;
  wordLmWeight?: number;
  oovPenalty?: number;
  wordBonus?: number;
}

/**
 * Decoding flags shared by transcribe and eval. The decoding settings a model may recommend have
 * no commander default: left out, they come from the model's recommended settings, else the
 * global defaults.
 */
export interface DecodeFlags extends WordLmFlags {
  model: string;
  decoder?: DecoderKind;
  beam?: number;
  lengthPenalty?: number;
  lm?: string | false;
  lmWeight?: number;
  lengthBonus?: number;
  hotwords?: string;
  hotwordBoost: number;
  ctcWeight?: number;
}

/** The --model option: defaults to the shipped model, shown by its short name in --help. */
export function modelOption(): Option {
  return new Option('-m, --model <dir>', 'model directory').default(defaultModelDir(), 'models/default');
}

/** Help text for a decoding setting that a model directory may recommend (model.json `decoding`). */
export function recommendedDefault(globalDefault: unknown): string {
  return `(default: the model's recommended setting, else ${String(globalDefault)})`;
}

/** A commander parser for one of a few words (the choices stay in the description, so that "(default: ...)" ends the help line). */
export function oneOf<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** --word-lm, --no-word-lm, --word-lm-weight, --oov-penalty, --word-bonus. */
export function addWordLmOptions(cmd: Command): Command {
  const d = DEFAULT_DECODE_OPTIONS;
  return cmd
    .option('--word-lm <file>', "word language model for beam search (default: the model directory's word-lm.bin if present)")
    .option('--no-word-lm', 'do not use a word language model')
    .option('--word-lm-weight <x>', `word-LM weight in shallow fusion (beam search only) ${recommendedDefault(d.wordLmWeight)}`, nonNegativeNumber('--word-lm-weight'))
    .option('--oov-penalty <x>', `score taken once from each word the word LM does not know ${recommendedDefault(d.oovPenalty)}`, nonNegativeNumber('--oov-penalty'))
    .option('--word-bonus <x>', `score per word when the word LM is used ${recommendedDefault(d.wordBonus)}`, nonNegativeNumber('--word-bonus'));
}

export function addDecodeOptions(cmd: Command): Command {
  const d = DEFAULT_DECODE_OPTIONS;
  cmd
    .addOption(modelOption())
    .option(
      '--decoder <kind>',
      `attention (the model's decoder) or ctc (best path of the CTC head: faster, no beam, for models that have one) ${recommendedDefault(d.decoder)}`,
      oneOf<DecoderKind>('--decoder', ['attention', 'ctc']),
    )
    .option('-b, --beam <n>', `beam width (1 = greedy) ${recommendedDefault(d.beam)}`, positiveInt('--beam'))
    .option('--length-penalty <x>', `beam search: divide scores by length^x ${recommendedDefault(d.lengthPenalty)}`, nonNegativeNumber('--length-penalty'))
    .option('--lm <file>', 'character language model for beam search (default: the model directory\'s lm.bin if present)')
    .option('--no-lm', 'do not use a character language model')
    .option('--lm-weight <x>', `language-model weight in shallow fusion (beam search only) ${recommendedDefault(d.lmWeight)}`, nonNegativeNumber('--lm-weight'))
    .option('--length-bonus <x>', `score per character when the language model is used ${recommendedDefault(d.lengthBonus)}`, nonNegativeNumber('--length-bonus'));
  return addWordLmOptions(cmd)
    .option('--hotwords <list>', 'comma-separated words to favour, e.g. "koe,tensorflow"')
    .option('--hotword-boost <x>', 'score per matching character of a hot word', nonNegativeNumber('--hotword-boost'), d.hotwordBoost)
    .option(
      '--ctc-weight <x>',
      `beam search with a model that has a CTC head: weight of its prefix score (0 = attention only) ${recommendedDefault(d.ctcWeight)}`,
      nonNegativeNumber('--ctc-weight'),
    );
}

/** The word-LM options given on the command line (--no-word-lm: wordLmWeight 0). */
export function wordLmOptionsFrom(f: WordLmFlags): Partial<DecodeOptions> {
  return definedOnly({ wordLmWeight: f.wordLm === false ? 0 : f.wordLmWeight, oovPenalty: f.oovPenalty, wordBonus: f.wordBonus });
}

/**
 * The decoding options the user gave on the command line (--no-lm: lmWeight 0); the rest comes
 * from {@link Transcriber.resolveDecodeOptions}.
 */
export function decodeOptionsFrom(f: DecodeFlags): Partial<DecodeOptions> {
  return definedOnly({
    ...wordLmOptionsFrom(f),
    decoder: f.decoder,
    beam: f.beam,
    lengthPenalty: f.lengthPenalty,
    lmWeight: f.lm === false ? 0 : f.lmWeight,
    lengthBonus: f.lengthBonus,
    hotwords: f.hotwords ? f.hotwords.split(',').map((w) => w.trim()).filter(Boolean) : undefined,
    hotwordBoost: f.hotwordBoost,
    ctcWeight: f.ctcWeight,
  });
}

/** Load the model (and language models) named by the flags, or exit with a clear message. */
export async function loadTranscriber(f: Pick<DecodeFlags, 'model' | 'decoder' | 'lm' | 'wordLm'>): Promise<Transcriber> {
  let transcriber: Transcriber;
  try {
    transcriber = await Transcriber.load(f.model, { lm: f.lm, wordLm: f.wordLm });
  } catch (err) {
    return fail(errorMessage(err));
  }
  if (f.decoder === 'ctc' && transcriber.loaded.model.config.ctcLayer === undefined) {
    return fail(`--decoder ctc: the model in ${f.model} has no CTC head (it was trained without one); use --decoder attention`);
  }
  return transcriber;
}
