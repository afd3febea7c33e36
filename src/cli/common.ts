/** Pieces shared by the CLI commands: option parsing, error reporting, exit codes. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { initBackend, type BackendInfo } from '../backend.js';
import { DEFAULT_DECODE_OPTIONS, type DecodeOptions, type DecoderKind } from '../decode/hypothesis.js';
import { defaultModelDir, Transcriber } from '../transcriber.js';

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

/** Decoding flags shared by transcribe, eval and listen. */
export interface DecodeFlags {
  model: string;
  decoder: DecoderKind;
  beam: number;
  lengthPenalty: number;
  lm?: string | false;
  lmWeight: number;
  lengthBonus: number;
  hotwords?: string;
  hotwordBoost: number;
  ctcWeight: number;
}

/** The --model option: defaults to the shipped model, shown by its short name in --help. */
export function modelOption(): Option {
  return new Option('-m, --model <dir>', 'model directory').default(defaultModelDir(), 'models/default');
}

export function addDecodeOptions(cmd: Command): Command {
  const d = DEFAULT_DECODE_OPTIONS;
  return cmd
    .addOption(modelOption())
    .addOption(new Option('--decoder <kind>', 'attention (the model\'s decoder) or ctc (best path of the CTC head: faster, no beam, for models that have one)').choices(['attention', 'ctc']).default(d.decoder))
    .option('-b, --beam <n>', 'beam width (1 = greedy)', positiveInt('--beam'), d.beam)
    .option('--length-penalty <x>', 'beam search: divide scores by length^x', nonNegativeNumber('--length-penalty'), d.lengthPenalty)
    .option('--lm <file>', 'character language model for beam search (default: the model directory\'s lm.bin if present)')
    .option('--no-lm', 'do not use a language model')
    .option('--lm-weight <x>', 'language-model weight in shallow fusion (beam search only)', nonNegativeNumber('--lm-weight'), d.lmWeight)
    .option('--length-bonus <x>', 'score per character when the language model is used', nonNegativeNumber('--length-bonus'), d.lengthBonus)
    .option('--hotwords <list>', 'comma-separated words to favour, e.g. "koe,tensorflow"')
    .option('--hotword-boost <x>', 'score per matching character of a hot word', nonNegativeNumber('--hotword-boost'), d.hotwordBoost)
    .option('--ctc-weight <x>', 'beam search with a model that has a CTC head: weight of its prefix score (0 = attention only)', nonNegativeNumber('--ctc-weight'), d.ctcWeight);
}

export function decodeOptionsFrom(f: DecodeFlags): Partial<DecodeOptions> {
  return {
    decoder: f.decoder,
    beam: f.beam,
    lengthPenalty: f.lengthPenalty,
    lmWeight: f.lm === false ? 0 : f.lmWeight,
    lengthBonus: f.lengthBonus,
    hotwords: f.hotwords ? f.hotwords.split(',').map((w) => w.trim()).filter(Boolean) : [],
    hotwordBoost: f.hotwordBoost,
    ctcWeight: f.ctcWeight,
  };
}

/** Load the model (and language model) named by the flags, or exit with a clear message. */
export async function loadTranscriber(f: DecodeFlags): Promise<Transcriber> {
  let transcriber: Transcriber;
  try {
    transcriber = await Transcriber.load(f.model, { lm: f.lm === false ? false : f.lm });
  } catch (err) {
    return fail(errorMessage(err));
  }
  if (f.decoder === 'ctc' && transcriber.loaded.model.config.ctcLayer === undefined) {
    return fail(`--decoder ctc: the model in ${f.model} has no CTC head (it was trained without one); use --decoder attention`);
  }
  return transcriber;
}
